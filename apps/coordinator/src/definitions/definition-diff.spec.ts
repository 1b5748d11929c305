import { WorkflowDefinition } from '../engine';
import { diffDefinitions } from './definition-diff';

const v1: WorkflowDefinition = {
  name: 'place-order',
  type: 'saga',
  timeoutMs: 30_000,
  steps: [
    { id: 'create', participant: 'order', action: 'create', compensation: 'cancel' },
    { id: 'reserve', participant: 'inventory', action: 'reserve', compensation: 'release', dependsOn: ['create'], input: { sku: '$.input.sku' } },
    { id: 'notify', participant: 'mail', action: 'send' },
  ],
};

describe('diffDefinitions', () => {
  it('finds nothing between equal versions', () => {
    expect(diffDefinitions(v1, structuredClone(v1))).toEqual({ fields: [], steps: [] });
  });

  it('matches steps by id: added, removed and changed field by field; a moved step is unchanged', () => {
    const v2: WorkflowDefinition = {
      ...v1,
      timeoutMs: 60_000,
      defaults: { retry: { maxAttempts: 5 } },
      steps: [
        { id: 'charge', participant: 'payment', action: 'charge', compensation: 'refund', dependsOn: ['create'] },
        { ...v1.steps[1], dependsOn: ['create', 'charge'], input: { sku: '$.input.item', qty: '$.input.qty' }, retry: { maxAttempts: 9 } },
        v1.steps[0],
      ],
    };
    expect(diffDefinitions(v1, v2)).toEqual({
      fields: [
        { path: 'timeoutMs', kind: 'changed', from: 30_000, to: 60_000 },
        { path: 'defaults', kind: 'added', to: { retry: { maxAttempts: 5 } } },
      ],
      steps: [
        {
          id: 'charge',
          kind: 'added',
          fields: [
            { path: 'id', kind: 'added', to: 'charge' },
            { path: 'participant', kind: 'added', to: 'payment' },
            { path: 'action', kind: 'added', to: 'charge' },
            { path: 'compensation', kind: 'added', to: 'refund' },
            { path: 'dependsOn', kind: 'added', to: ['create'] },
          ],
        },
        {
          id: 'reserve',
          kind: 'changed',
          fields: [
            { path: 'dependsOn', kind: 'changed', from: ['create'], to: ['create', 'charge'] },
            { path: 'input.sku', kind: 'changed', from: '$.input.sku', to: '$.input.item' },
            { path: 'input.qty', kind: 'added', to: '$.input.qty' },
            { path: 'retry', kind: 'added', to: { maxAttempts: 9 } },
          ],
        },
        {
          id: 'notify',
          kind: 'removed',
          fields: [
            { path: 'id', kind: 'removed', from: 'notify' },
            { path: 'participant', kind: 'removed', from: 'mail' },
            { path: 'action', kind: 'removed', from: 'send' },
          ],
        },
      ],
    });
  });

  it('reports a removed compensation, and an array emptied, once each', () => {
    const { compensation: _, ...create } = v1.steps[0];
    const v2: WorkflowDefinition = { ...v1, steps: [create, { ...v1.steps[1], dependsOn: [] }, v1.steps[2]] };
    expect(diffDefinitions(v1, v2).steps).toEqual([
      { id: 'create', kind: 'changed', fields: [{ path: 'compensation', kind: 'removed', from: 'cancel' }] },
      { id: 'reserve', kind: 'changed', fields: [{ path: 'dependsOn', kind: 'changed', from: ['create'], to: [] }] },
    ]);
  });
});
