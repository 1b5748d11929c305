import { IsInt, IsString, Min } from 'class-validator';
import { BusinessFailure } from './failures';
import { parseInput } from './handler-input';

class Reserve {
  @IsString()
  sku: string;

  @IsInt()
  @Min(1)
  qty: number;
}

describe('parseInput', () => {
  it('returns the typed input without the keys the class does not declare', () => {
    const input = parseInput(Reserve, { sku: 'A-1', qty: 2, _fault: { transient: true } });
    expect(input).toBeInstanceOf(Reserve);
    expect({ ...input }).toEqual({ sku: 'A-1', qty: 2 });
  });

  it('refuses with INVALID_INPUT naming every problem, converting nothing', () => {
    let error: unknown;
    try {
      parseInput(Reserve, { qty: '2' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BusinessFailure);
    expect(error).toMatchObject({ code: 'INVALID_INPUT' });
    expect((error as Error).message).toMatch(/sku must be a string.*qty must be an integer/);
  });
});
