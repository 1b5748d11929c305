import { FormEvent, useEffect, useRef, useState } from 'react';
import {
  api,
  ApiError,
  canRepair,
  DefinitionSummary,
  Filter,
  followChanges,
  Principal,
  StatusCounts,
  Transaction,
  TX_STATUSES,
  TX_TYPES,
} from './api';
import { href } from './router';
import { BulkActionDialog, BulkProgress } from './BulkActions';
import { Badge, ConfirmDialog, ErrorNote, when } from './ui';

/** The list's filter as a bulk action takes it (the id field is the list's own). */
const withoutId = ({ id: _id, ...rest }: Filter & { id?: string }): Filter => rest;

const PAGE = 25;
const toIso = (local: string) => (local ? new Date(local).toISOString() : undefined);
/** The tags field, `orderId=o-1, customer=ada`, as the API's `key:value` filters; none when empty. */
const toTags = (text: string) => {
  const tags = text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => t.replace('=', ':'));
  return tags.length > 0 ? tags : undefined;
};

/** Transactions, newest first: filters, counts per status, keyset pages, live updates. */
export function TransactionsPage({ me }: { me: Principal }) {
  const [form, setForm] = useState({ status: '', definition: '', type: '', createdFrom: '', createdTo: '', tags: '', paused: '', id: '' });
  const [filter, setFilter] = useState<Filter & { id?: string }>({});
  // Cursors of the pages before the one shown; the first page's is null.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<{ items: Transaction[]; nextCursor: string | null } | null>(null);
  const [counts, setCounts] = useState<StatusCounts | null>(null);
  const [definitions, setDefinitions] = useState<DefinitionSummary[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [confirmBulk, setConfirmBulk] = useState(false);
  const [bulkAction, setBulkAction] = useState(false);
  // Bumped when a bulk action starts: BulkProgress reads the runs again.
  const [bulkStarted, setBulkStarted] = useState(0);
  const [notice, setNotice] = useState('');
  const [live, setLive] = useState(true);
  const cursor = cursors[cursors.length - 1];

  const load = useRef<() => Promise<void>>(() => Promise.resolve());
  load.current = async () => {
    try {
      if (filter.id) {
        const tx = await api.get(filter.id).catch((e: unknown) => {
          if (e instanceof ApiError && (e.status === 404 || e.status === 400)) return null;
          throw e;
        });
        setPage({ items: tx ? [tx] : [], nextCursor: null });
      } else {
        const [p, c] = await Promise.all([api.list(filter, cursor, PAGE), api.counts(filter)]);
        setPage(p);
        setCounts(c);
      }
      setError(null);
    } catch (e) {
      setError(e);
    }
  };

  useEffect(() => {
    void load.current();
  }, [filter, cursor]);
  useEffect(() => {
    api.definitions().then((d) => setDefinitions(d.items), setError);
  }, []);

  // Live: a change reloads the first page (new rows appear on top) or, on a later page, the
  // rows shown; at most once a second.
  useEffect(() => {
    if (!live) return;
    const controller = new AbortController();
    let pending: ReturnType<typeof setTimeout> | null = null;
    void followChanges(() => {
      pending ??= setTimeout(() => {
        pending = null;
        void load.current();
      }, 300);
    }, controller.signal);
    return () => {
      controller.abort();
      if (pending) clearTimeout(pending);
    };
  }, [live]);

  const apply = (e: FormEvent) => {
    e.preventDefault();
    setFilter({
      status: form.status || undefined,
      definition: form.definition || undefined,
      type: form.type || undefined,
      createdFrom: toIso(form.createdFrom),
      createdTo: toIso(form.createdTo),
      tag: toTags(form.tags),
      paused: form.paused || undefined,
      id: form.id.trim() || undefined,
    });
    setCursors([null]);
  };
  const byStatus = (status: string) => {
    setForm((f) => ({ ...f, status }));
    setFilter((f) => ({ ...f, status: status || undefined }));
    setCursors([null]);
  };
  const canAct = canRepair(me.role);
  const field = (name: keyof typeof form) => ({
    id: `filter-${name}`,
    name,
    value: form[name],
    onChange: (e: { target: { value: string } }) => setForm((f) => ({ ...f, [name]: e.target.value })),
  });

  return (
    <section aria-labelledby="list-title">
      <h1 id="list-title">Transactions</h1>
      <div className="counts" role="group" aria-label="Counts per status (select to filter)">
        <button type="button" className={!filter.status ? 'active' : ''} aria-pressed={!filter.status} onClick={() => byStatus('')}>
          all <strong>{counts ? `${counts.capped ? 'more than ' : ''}${counts.total}` : '…'}</strong>
        </button>
        {TX_STATUSES.map((s) => (
          <button
            type="button"
            key={s}
            data-status={s}
            className={filter.status === s ? 'active' : ''}
            aria-pressed={filter.status === s}
            onClick={() => byStatus(s)}
          >
            <Badge status={s} /> <strong>{counts ? `${counts.capped ? '≥ ' : ''}${counts.counts[s]}` : '…'}</strong>
          </button>
        ))}
      </div>
      <form className="filters" onSubmit={apply} aria-label="Filter transactions">
        <div className="field">
          <label htmlFor="filter-status">Status</label>
          <select {...field('status')}>
            <option value="">any</option>
            {TX_STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="filter-definition">Definition</label>
          <select {...field('definition')}>
            <option value="">any</option>
            {definitions.map((d) => (
              <option key={d.name}>{d.name}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="filter-type">Type</label>
          <select {...field('type')}>
            <option value="">any</option>
            {TX_TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="filter-createdFrom">Created from</label>
          <input type="datetime-local" {...field('createdFrom')} />
        </div>
        <div className="field">
          <label htmlFor="filter-createdTo">Created before</label>
          <input type="datetime-local" {...field('createdTo')} />
        </div>
        <div className="field">
          <label htmlFor="filter-tags">Tags</label>
          <input type="search" placeholder="orderId=o-1, customer=ada" {...field('tags')} />
        </div>
        <div className="field">
          <label htmlFor="filter-paused">Paused</label>
          <select {...field('paused')}>
            <option value="">either</option>
            <option value="true">paused</option>
            <option value="false">not paused</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="filter-id">Id</label>
          <input type="search" placeholder="transaction id" {...field('id')} />
        </div>
        <button type="submit" className="primary">
          Apply
        </button>
      </form>
      <div className="toolbar">
        <label className="inline">
          <input type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} /> Live updates
        </label>
        {canAct && (
          <>
            <button type="button" onClick={() => setConfirmBulk(true)} disabled={!!filter.id}>
              Replay failed matching filter…
            </button>
            <button type="button" onClick={() => setBulkAction(true)} disabled={!!filter.id}>
              Bulk action on matching…
            </button>
          </>
        )}
        <span role="status">{notice}</span>
      </div>
      <ErrorNote error={error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Definition</th>
            <th scope="col">Type</th>
            <th scope="col">Status</th>
            <th scope="col">Created</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {page?.items.map((tx) => (
            <tr key={tx.id} data-id={tx.id}>
              <td>
                <a href={href('transactions', tx.id)} className="mono">
                  {tx.id}
                </a>
              </td>
              <td>
                {tx.definition.name} <span className="muted">v{tx.definition.version}</span>
              </td>
              <td>{tx.type}</td>
              <td>
                <Badge status={tx.status} />
                {tx.paused && (
                  <>
                    {' '}
                    <Badge status="paused" />
                  </>
                )}
              </td>
              <td>{when(tx.createdAt)}</td>
              <td>{when(tx.updatedAt)}</td>
            </tr>
          ))}
          {page && page.items.length === 0 && (
            <tr>
              <td colSpan={6} className="muted">
                No transaction matches.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors([null])}>
          First page
        </button>
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
          Previous
        </button>
        <span>Page {cursors.length}</span>
        <button type="button" disabled={!page?.nextCursor} onClick={() => page?.nextCursor && setCursors((c) => [...c, page.nextCursor])}>
          Next
        </button>
      </nav>
      <BulkProgress refresh={bulkStarted} />
      {confirmBulk && (
        <ConfirmDialog
          title="Replay failed transactions"
          confirmLabel="Replay all"
          onClose={() => setConfirmBulk(false)}
          onConfirm={async () => {
            const { retried } = await api.bulkRetry(filter);
            setNotice(`${retried} transaction(s) replayed`);
            void load.current();
          }}
        >
          <p>
            Every <strong>failed</strong> transaction matching the current filter (definition, type, time range, tags; at most 100, oldest first) gets
            its failed steps re-driven with a fresh attempt budget. The history records you as the actor.
          </p>
        </ConfirmDialog>
      )}
      {bulkAction && (
        <BulkActionDialog filter={withoutId(filter)} onClose={() => setBulkAction(false)} onStarted={() => setBulkStarted((n) => n + 1)} />
      )}
    </section>
  );
}
