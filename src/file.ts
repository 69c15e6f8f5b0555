export { FileStorage } from './storage/file-storage.js';

export type { FileStorageOptions, FileStorageEvents, RecoveryInfo } from './storage/file-storage.js';
