// Files that ship beside the compiled code: dist/src/paths.js → package root.
import { fileURLToPath } from 'node:url';

export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PROTO_DIR = `${PACKAGE_ROOT}proto/`;
export const SCHEMA_DIR = `${PACKAGE_ROOT}schema/`;
export const MODEL_DATA_DIR = `${PACKAGE_ROOT}model-data/`;
