export { FileStorage } from './file/file-storage.js';

export type { FileStorageEvents } from './file/file-storage.js';
export type { FileStorageOptions } from './file/options.js';
export type { RecoveryInfo } from './file/recovery.js';
