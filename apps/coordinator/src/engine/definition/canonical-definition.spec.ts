import { canonicalDefinition } from './canonical-definition';
import { WorkflowDefinition } from './definition';

describe('canonicalDefinition', () => {
  const definition: WorkflowDefinition = {
    name: 'n',
    type: 'saga',
    steps: [{ id: 'a', participant: 'p', action: 'x', input: { b: 1, a: { d: 2, c: 3 } }, dependsOn: [] }],
  };

  it('gives the same text whatever the key order', () => {
    const shuffled = JSON.parse(
      '{"steps":[{"dependsOn":[],"input":{"a":{"c":3,"d":2},"b":1},"action":"x","participant":"p","id":"a"}],"type":"saga","name":"n"}',
    );
    expect(canonicalDefinition(shuffled)).toBe(canonicalDefinition(definition));
    expect(canonicalDefinition(definition)).toBe(
      '{"name":"n","steps":[{"action":"x","dependsOn":[],"id":"a","input":{"a":{"c":3,"d":2},"b":1},"participant":"p"}],"type":"saga"}',
    );
  });

  it('tells different definitions apart, array order included', () => {
    const twoSteps = (ids: string[]): WorkflowDefinition => ({
      ...definition,
      steps: ids.map((id) => ({ id, participant: 'p', action: 'x' })),
    });
    expect(canonicalDefinition(twoSteps(['a', 'b']))).not.toBe(canonicalDefinition(twoSteps(['b', 'a'])));
    expect(canonicalDefinition({ ...definition, timeoutMs: 5 })).not.toBe(canonicalDefinition(definition));
  });
});
