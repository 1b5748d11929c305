import { digest } from '../config/api-keys';
import { trackerOf } from './credential-throttler.guard';

describe('trackerOf', () => {
  it('counts a request against the digest of its credential, wherever it is sent', () => {
    expect(trackerOf({ headers: { authorization: 'Bearer s3cret' }, ip: '10.0.0.1' })).toBe(`key:${digest('s3cret')}`);
    expect(trackerOf({ headers: { 'x-api-key': 's3cret' }, ip: '10.0.0.2' })).toBe(`key:${digest('s3cret')}`);
  });

  it('never holds the secret itself', () => {
    expect(trackerOf({ headers: { authorization: 'Bearer s3cret' }, ip: '10.0.0.1' })).not.toContain('s3cret');
  });

  it('falls back to the client address without a credential', () => {
    expect(trackerOf({ headers: {}, ip: '10.0.0.3' })).toBe('ip:10.0.0.3');
    expect(trackerOf({ headers: { authorization: 'Basic abc' }, ip: '10.0.0.3' })).toBe('ip:10.0.0.3');
  });
});
