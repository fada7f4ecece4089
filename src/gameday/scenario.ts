import { z } from 'zod';
import { APPS, STAGES } from '../config/apps.js';
import { FAULT_KINDS } from '../platform/faults.js';

/**
 * A game-day scenario (docs/domain.md#game-days): a hypothesis with measurable objectives, load, steady-state probes
 * that must hold before the first fault and at the end, stop conditions, and phases in order.
 */

const ID = /^[a-z0-9][a-z0-9-]*$/;
/** "30s", "2m", "500ms": a number alone has no unit and is refused (a typo there changes the drill by 1000×). */
const duration = z.string({ invalid_type_error: 'a duration has a unit, e.g. 30s, 2m, 500ms' });
const count = z.number().int().min(0);
/** primary, secondary, active (where the phase's app runs), standby, or a region name. */
const region = z.string().min(1);

export const PROBES = ['confirming', 'replication', 'healthy', 'latency'] as const;
export type ProbeName = (typeof PROBES)[number];

export const WAIT_CONDITIONS = ['replication', 'confirming', 'healthy'] as const;
export const STOP_CONDITIONS = ['no-confirmation', 'replication-lag'] as const;

export const objectivesSchema = z
  .object({
    /** Longest recovery time objective over every rotation and failover of the run. */
    rto: duration.optional(),
    /** Longest unavailability window (observed: last accepted in the source → first accepted in the target). */
    unavailability: duration.optional(),
    /** Records missing after replay, for planned moves (rotations); failovers are judged by `lost` and at-risk. */
    rpo: count.optional(),
    lost: count.optional(),
    duplicated: count.optional(),
    wrong: count.optional(),
    late: count.optional(),
    /** submit → MATCHED p99 in steady state (before the first fault). */
    p99ToMatched: duration.optional(),
    /**
     * After a regional failover, the pairs the failover reports count as lost with the region (the RPO a failover
     * accepts) equal the pairs the verdict finds at risk.
     */
    lossAgrees: z.literal(true).optional(),
  })
  .strict();
export type Objectives = z.infer<typeof objectivesSchema>;
export const OBJECTIVE_NAMES = Object.keys(objectivesSchema.shape) as (keyof Objectives)[];

const probeSchema = z
  .object({
    probe: z.enum(PROBES),
    /** replication: largest acceptable lag. latency: largest acceptable p99. */
    max: duration.optional(),
    /** How long the probe may take to hold (default 1m). */
    within: duration.optional(),
  })
  .strict();

const stopSchema = z.discriminatedUnion('condition', [
  z.object({ condition: z.literal('no-confirmation'), for: duration }).strict(),
  z.object({ condition: z.literal('replication-lag'), above: duration }).strict(),
]);

const common = { id: z.string().regex(ID, 'an id is lowercase letters, digits and dashes').optional() };

const phaseSchemas = [
  z.object({ ...common, rotate: z.enum(APPS), to: region, waitReplication: duration.optional() }).strict(),
  z.object({ ...common, failover: z.enum([...APPS, 'all']), to: region }).strict(),
  z
    .object({
      ...common,
      runbook: z.string().min(1),
      params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    })
    .strict(),
  z
    .object({
      ...common,
      fault: z.enum(FAULT_KINDS),
      region: region.optional(),
      app: z.enum(APPS).optional(),
      stage: z.enum(STAGES).optional(),
      delay: duration.optional(),
      endpoints: z.enum(['all-but-one', 'all']).optional(),
      /** Hold the fault this long, then undo it within the same phase. Without it, an `undo` phase (or the end) does. */
      for: duration.optional(),
    })
    .strict(),
  z.object({ ...common, undo: z.string().regex(ID, 'undo names the id of a fault phase') }).strict(),
  z
    .object({
      ...common,
      probe: z.enum(PROBES),
      /** hold: the probe must pass; fail: it must notice the fault (a gray failure must not go unseen). */
      expect: z.enum(['hold', 'fail']).optional(),
      max: duration.optional(),
      within: duration.optional(),
    })
    .strict(),
  z.object({ ...common, wait: z.enum(WAIT_CONDITIONS), max: duration.optional(), timeout: duration }).strict(),
  /** A fixed wait, only where a scenario means it ("hold the fault for 30 s" is a fault's `for`). */
  z.object({ ...common, hold: duration }).strict(),
  z.object({ ...common, reconcile: z.enum([...APPS, 'all']), since: duration.optional() }).strict(),
] as const;

/** The key that says what a phase is; also the order in which a phase map is recognised. */
export const PHASE_KINDS = [
  'rotate',
  'failover',
  'runbook',
  'fault',
  'undo',
  'probe',
  'wait',
  'hold',
  'reconcile',
] as const;
export type PhaseKind = (typeof PHASE_KINDS)[number];

export const phaseSchema = z.union(phaseSchemas);
export type Phase = z.infer<typeof phaseSchema>;

export const scenarioSchema = z
  .object({
    name: z.string().regex(ID, 'a scenario name is lowercase letters, digits and dashes'),
    description: z.string().min(1),
    /** What the drill sets out to show, in plain words. */
    hypothesis: z.string().min(1),
    objectives: objectivesSchema.default({}),
    load: z
      .object({
        /** Trade pairs per second (each pair is two trade sides). */
        rate: z.number().positive().max(1_000),
        warmup: duration.optional(),
      })
      .strict()
      .optional(),
    steadyState: z.array(probeSchema).default([]),
    stopWhen: z.array(stopSchema).default([]),
    phases: z.array(z.unknown()).min(1, 'a scenario needs at least one phase'),
    /** How long, after the load stops, every pair may take to reach its final state before it counts as late/lost. */
    settle: duration.optional(),
  })
  .strict();
export type ScenarioDefinition = Omit<z.infer<typeof scenarioSchema>, 'phases'> & { readonly phases: Phase[] };
export type ProbeSpec = z.infer<typeof probeSchema>;
export type StopCondition = z.infer<typeof stopSchema>;

/** The kind of a phase map: the first PHASE_KINDS key it has. */
export function phaseKind(phase: unknown): PhaseKind | undefined {
  if (!phase || typeof phase !== 'object') return undefined;
  return PHASE_KINDS.find((k) => k in (phase as object));
}

/** The schema for one phase kind (a precise error instead of "no union member matched"). */
export function phaseSchemaFor(kind: PhaseKind): z.ZodTypeAny {
  return phaseSchemas[PHASE_KINDS.indexOf(kind)];
}
