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
