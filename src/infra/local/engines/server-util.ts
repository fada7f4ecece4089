/** What every local engine returns once it answers. */
export interface StartedEngine {
  readonly endpoint: string;
  /** The ports the engine bound (with port 0 in its spec, the ones the kernel gave it). */
  readonly ports: readonly number[];
  /** OS processes the engine spawned itself (killed with it if the engine dies). */
  readonly childPids?: readonly number[];
  close(): Promise<void>;
}
