export { FileStorage } from './file/file-storage.js';

export type { FileStorageOptions, FileStorageEvents, RecoveryInfo } from './file/file-storage.js';
