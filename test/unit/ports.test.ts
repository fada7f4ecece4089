import { dealPorts, preferredPorts, type PortNeed } from '../../src/infra/local/ports.js';

/** Pure: how a deployment's ports are laid out and which ones each part tries. No sockets. */
describe('local port plan', () => {
  const needs: PortNeed[] = [
    { id: 'kinesis@us-east-1', count: 1 },
    { id: 'broker@us-east-1', count: 2 },
    { id: 'arc', count: 3 },
  ];

  it('deals a consecutive range out in the order of the needs (the --base-port layout)', () => {
    expect(dealPorts(needs, [45000, 45001, 45002, 45003, 45004, 45005])).toEqual({
      'kinesis@us-east-1': [45000],
      'broker@us-east-1': [45001, 45002],
      arc: [45003, 45004, 45005],
    });
    expect(() => dealPorts(needs, [45000])).toThrow('6 ports are needed, 1 were given');
  });

  it('prefers the ports each part had in the last run, and 0 (any free port) where none is known', () => {
    const saved = { 'kinesis@us-east-1': [40001], 'broker@us-east-1': [40002, 40003], control: [40009] };
    expect(preferredPorts(needs, saved)).toEqual({
      'kinesis@us-east-1': [40001],
      'broker@us-east-1': [40002, 40003],
      arc: [0, 0, 0],
    });
  });

  it('ignores saved ports of the wrong shape: an older array file, a wrong count, or not a port', () => {
    const none = { 'kinesis@us-east-1': [0], 'broker@us-east-1': [0, 0], arc: [0, 0, 0] };
    expect(preferredPorts(needs, [40001, 40002, 40003, 40004, 40005, 40006])).toEqual(none);
    expect(preferredPorts(needs, undefined)).toEqual(none);
    expect(
      preferredPorts(needs, { 'broker@us-east-1': [40002], arc: [1, 2, 70_000], 'kinesis@us-east-1': ['x'] }),
    ).toEqual(none);
  });
});
