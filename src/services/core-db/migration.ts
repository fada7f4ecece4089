/** One versioned schema change. Versions are positive integers, strictly increasing, never reused or edited. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}
