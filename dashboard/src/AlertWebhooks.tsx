import { useState } from 'react';
import { api, WebhookTestResult } from './api';
import { ErrorNote, useLoad, when } from './ui';

const outcome = (result: WebhookTestResult) =>
  result.delivered ? `Delivered (HTTP ${result.status})` : `Not delivered: ${result.error ?? `HTTP ${result.status}`}`;

/**
 * The webhooks that receive alerts, each with a button that sends it a signed sample now
 * (admins only: the API refuses the rest; webhooks are added and removed over the API).
 */
export function AlertWebhooks() {
  const webhooks = useLoad(() => api.webhooks(), []);
  const [results, setResults] = useState<Record<string, string>>({});
  const [testing, setTesting] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const test = async (id: string) => {
    setTesting(id);
    setError(null);
    try {
      const result = await api.testWebhook(id);
      setResults((shown) => ({ ...shown, [id]: outcome(result) }));
    } catch (e) {
      setError(e);
    } finally {
      setTesting(null);
    }
  };
  return (
    <>
      <h2>Alert webhooks</h2>
      <ErrorNote error={webhooks.error ?? error} />
      {webhooks.data?.items.length === 0 ? (
        <p className="muted">No webhook: add one with POST /api/v1/alerts/webhooks.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">Alerts</th>
              <th scope="col">Per minute</th>
              <th scope="col">Added</th>
              <th scope="col">Test</th>
            </tr>
          </thead>
          <tbody>
            {webhooks.data?.items.map((w) => (
              <tr key={w.id} data-webhook={w.id}>
                <td className="mono">{w.url}</td>
                <td>{w.kinds.join(', ')}</td>
                <td>{w.perMinute}</td>
                <td>
                  {when(w.createdAt)} by {w.createdBy}
                </td>
                <td>
                  <button type="button" disabled={testing === w.id} onClick={() => void test(w.id)} aria-label={`Send a test alert to ${w.url}`}>
                    Send test
                  </button>{' '}
                  <span role="status">{results[w.id]}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
