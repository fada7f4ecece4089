/**
 * V8 flags for the local platform's long-running Node processes (engines and services). Under a steady 10 pairs/s a
 * full GC leaves each of them 10–30 MiB of heap, flat over time, yet their anonymous memory climbed for the whole of
 * an hour: what grew was garbage not collected yet. V8 grows the young generation's semi-spaces up to 16 MiB each,
 * and lets the old generation reach up to 4× what the last full GC left before the next one (~80 MiB for a service
 * with 20 live). Small semi-spaces and a 25% old-generation step keep memory nearer what is live, for more frequent —
 * each cheaper — GCs (in the hour-long soak, the services of a region turning standby gave back 9–10 MiB each).
 * V8 still lets the old generation grow by at least 8 MiB between full GCs: a standby service, allocating slowly, takes
 * ~15 minutes to fill that and then stays flat (32 → 39 MiB). `--optimize-for-size` makes that step 2 MiB but cost
 * half again the CPU per pair in the pipeline bench (20.8 pairs/s instead of 31.2), so it is not used; the processes
 * collect in full themselves instead, when idle or after 2 MiB of growth (COLLECTOR_FLAGS).
 */
export const LEAN_HEAP_FLAGS: readonly string[] = ['--max-semi-space-size=2', '--heap-growing-percent=25'];

/**
 * Services, engines and the supervisor also collect in full while idle or when their old generation grew a little
 * (clients/heap-collector.ts), for which V8 must expose `gc`.
 */
export const COLLECTOR_FLAGS: readonly string[] = ['--expose-gc'];

/**
 * Environment of the same processes. glibc gives each thread that allocates its own malloc arena (up to 8 per core)
 * and returns little of them: LevelDB's compaction thread and libuv's pool in the DynamoDB and Kinesis engines left
 * ~70 MiB of native memory per engine after an hour, growing, while their JS heaps stayed at 16 MiB. Two arenas
 * keep that memory shared and reused.
 */
export const LEAN_PROCESS_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };
