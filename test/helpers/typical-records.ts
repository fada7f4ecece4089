/** Records shaped like the platform's, with ids no compression dictionary has seen. */
/** A safe-store item as dynalite keeps it, for a trade side nothing in the dictionary has seen. */
export function tradeItem(n: number): Record<string, unknown> {
  const id = `BRK-SOUTH-IM-DELTA-BRK-SOUTH-q7zt${n}-${1000 + n}`;
  const body = {
    senderId: 'BRK-SOUTH',
    imId: 'IM-DELTA',
    brokerId: 'BRK-SOUTH',
    tradeId: `q7zt${n}-${1000 + n}`,
    side: 'B',
    security: 'US0231351067',
    quantity: 300 + n,
    price: '181.25',
    tradeDate: '2026-12-09',
    settlementDate: '2026-12-10',
    deliveryInstructions: 'DTC 0902',
    allocations: [{ allocationId: 1, quantity: 300 + n, account: `IM-DELTA-ACC-${n}` }],
    id,
    status: 'ACCEPTED',
  };
  return {
    id: { S: id },
    kind: { S: 'trade' },
    status: { S: 'ACCEPTED' },
    acceptedAt: { N: String(1_796_800_000_000 + n) },
    payload: { S: JSON.stringify({ id, kind: 'trade', body, partitionKey: id, acceptedAt: 1_796_800_000_000 + n }) },
    stage: { S: 'inbound-gateway' },
    region: { S: 'us-west-2' },
    origin: { S: 'accepted' },
    forwarded: { BOOL: true },
    timeBucket: { S: '2026-12-09T10:15' },
  };
}

/** A trade as our services put it on a stream, nothing the dictionary has seen. */
export function streamRecord(n: number): { PartitionKey: string; Data: string; ApproximateArrivalTimestamp: number } {
  const id = `IM-DELTA-IM-DELTA-BRK-SOUTH-q7zt${n}`;
  const body = {
    senderId: 'IM-DELTA',
    imId: 'IM-DELTA',
    brokerId: 'BRK-SOUTH',
    tradeId: `q7zt${n}`,
    side: 'S',
    security: 'US0231351067',
    quantity: 4_100 + n,
    price: '181.25',
    tradeDate: '2026-12-09',
    settlementDate: '2026-12-10',
    deliveryInstructions: 'DTC 0902',
    allocations: [{ allocationId: 1, quantity: 4_100 + n, account: `IM-DELTA-ACC-${n}` }],
  };
  const partitionKey = `IM-DELTA|BRK-SOUTH|q7zt${n}|S|2026-12-09|2026-12-10`;
  const record = { id, kind: 'trade', body, partitionKey, acceptedAt: 1_796_800_000_000 + n };
  return {
    PartitionKey: partitionKey,
    Data: Buffer.from(JSON.stringify(record)).toString('base64'),
    ApproximateArrivalTimestamp: 1_796_800_000.123 + n,
  };
}
