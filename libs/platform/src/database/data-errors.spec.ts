import { isCausedByData } from './data-errors';

const pgError = (code: string) => Object.assign(new Error('from PostgreSQL'), { code });

describe('isCausedByData', () => {
  it.each([
    ['22P05', 'untranslatable character (a lone surrogate in jsonb)'],
    ['22P02', 'invalid text representation'],
    ['23505', 'unique violation'],
    ['54000', 'program limit exceeded'],
  ])('blames the data for SQLSTATE %s (%s)', (code) => {
    expect(isCausedByData(pgError(code))).toBe(true);
  });

  it('finds the SQLSTATE of a TypeORM QueryFailedError in its driverError', () => {
    expect(isCausedByData(Object.assign(new Error('query failed'), { driverError: pgError('22021') }))).toBe(true);
    expect(isCausedByData(Object.assign(new Error('query failed'), { driverError: pgError('40001') }))).toBe(false);
  });

  it.each([
    ['40001', 'serialization failure'],
    ['57P01', 'admin shutdown'],
    ['57014', 'statement timeout'],
    ['08006', 'connection failure'],
    ['53300', 'too many connections'],
  ])('does not blame the data for SQLSTATE %s (%s)', (code) => {
    expect(isCausedByData(pgError(code))).toBe(false);
  });

  it('blames the data for errors code throws while working on it, not for network errors', () => {
    expect(isCausedByData(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe(true);
    expect(isCausedByData(new RangeError('Invalid string length'))).toBe(true);
    expect(isCausedByData(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isCausedByData(new Error('Connection terminated unexpectedly'))).toBe(false);
    expect(isCausedByData('not an error')).toBe(false);
  });
});
