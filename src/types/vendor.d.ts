// Type declarations for dependencies that ship none.
declare module 'stopword' {
  /** Stopword lists by ISO 639-3 code; `eng` is English. */
  const lists: { eng: string[] } & Record<string, string[] | unknown>;
  export default lists;
}

declare module 'wink-porter2-stemmer' {
  /** Porter2 ("English") stemmer. */
  export default function stem(word: string): string;
}
