/**
 * Jest for the recipes in this folder: plain JavaScript, so no transform (no Babel);
 * `.mjs` files run as ES modules (under --experimental-vm-modules), `.cjs` as CommonJS.
 * @type {import('jest').Config}
 */
export default {
  testEnvironment: 'node',
  transform: {},
};
