import { type CheckpointOutcome, CheckpointPipeline } from '../../src/services/runtime/checkpoint-pipeline.js';

/** A checkpoint write the test completes by hand, to hold it in flight while the reader goes on. */
function controllableWrites() {
  const calls: { sequenceNumber: string; finish: (outcome: CheckpointOutcome | Error) => void }[] = [];
  const write = (sequenceNumber: string) =>
    new Promise<CheckpointOutcome>((resolve, reject) =>
      calls.push({
        sequenceNumber,
        finish: (outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome)),
      }),
    );
  return { calls, write };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('checkpoints written behind the reader', () => {
  it('keeps one write in flight and covers the batches handled meanwhile with one write of the newest', async () => {
    const { calls, write } = controllableWrites();
    const written: string[][] = [];
    const pipeline = new CheckpointPipeline<string>(write, (batches) => written.push(batches));

    pipeline.add('100', 'a');
    pipeline.add('200', 'b');
    pipeline.add('300', 'c');
    await tick();
    expect(calls.map((c) => c.sequenceNumber)).toEqual(['100']);

    calls[0].finish('written');
    await tick();
    expect(written).toEqual([['a']]);
    expect(calls.map((c) => c.sequenceNumber)).toEqual(['100', '300']);

    const settled = pipeline.settle();
    calls[1].finish('written');
    expect(await settled).toBe('written');
    expect(written).toEqual([['a'], ['b', 'c']]);
    expect(pipeline.failure).toBeUndefined();
  });

  it('keeps a failed write for the reader, ignores batches after it, and clears it once settled', async () => {
    const { calls, write } = controllableWrites();
    const written: number[][] = [];
    const pipeline = new CheckpointPipeline<number>(write, (batches) => written.push(batches));

    pipeline.add('1', 1);
    pipeline.add('2', 2);
    await tick();
    calls[0].finish('failed');
    await tick();
    expect(pipeline.failure).toBe('failed');
    // The batch queued behind the failure is not written: the reader reads it again from checkpoint '0'.
    pipeline.add('3', 3);
    await tick();
    expect(calls).toHaveLength(1);
    expect(await pipeline.settle()).toBe('failed');
    expect(pipeline.failure).toBeUndefined();
    expect(written).toEqual([]);

    pipeline.add('4', 4);
    await tick();
    calls[1].finish('written');
    expect(await pipeline.settle()).toBe('written');
    expect(written).toEqual([[4]]);
  });

  it('reports a lost lease, and a write that throws as failed', async () => {
    const { calls, write } = controllableWrites();
    const pipeline = new CheckpointPipeline<number>(write, () => undefined);
    pipeline.add('1', 1);
    await tick();
    calls[0].finish('lost');
    expect(await pipeline.settle()).toBe('lost');

    pipeline.add('2', 2);
    await tick();
    calls[1].finish(new Error('connection reset'));
    expect(await pipeline.settle()).toBe('failed');
  });

  it('starts writes at least the interval apart and covers what was handled meanwhile with one write', async () => {
    const { calls, write } = controllableWrites();
    const startedAt: number[] = [];
    const written: string[][] = [];
    const pipeline = new CheckpointPipeline<string>(
      (sequenceNumber) => (startedAt.push(Date.now()), write(sequenceNumber)),
      (batches) => written.push(batches),
      150,
    );

    pipeline.add('1', 'a');
    await tick();
    calls[0].finish('written');
    await tick();
    pipeline.add('2', 'b');
    pipeline.add('3', 'c');
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Still inside the interval: the second write has not started.
    expect(calls).toHaveLength(1);
    const settled = pipeline.settle();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(calls.map((c) => c.sequenceNumber)).toEqual(['1', '3']);
    calls[1].finish('written');
    expect(await settled).toBe('written');
    expect(startedAt[1] - startedAt[0]).toBeGreaterThanOrEqual(149);
    expect(written).toEqual([['a'], ['b', 'c']]);
  });
});
