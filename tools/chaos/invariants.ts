import { isDeepStrictEqual } from 'util';
import { ClientBase, Pool } from 'pg';

/**
 * The sample apps' data and business invariants, in their own tables (schemas `orders`,
 * `inventory`, `payment`). Each check returns its violations: an empty list means it holds.
 */
type Db = Pick<ClientBase | Pool, 'query'>;

export interface Product {
  sku: string;
  stock: number;
}
export interface Account {
  id: string;
  balance: number;
}

export async function addProducts(db: Db, products: Product[]) {
  await db.query('INSERT INTO inventory.products (sku, name, stock) SELECT s, s, n FROM unnest($1::text[], $2::int[]) AS p (s, n)', [
    products.map((p) => p.sku),
    products.map((p) => p.stock),
  ]);
}

export async function addAccounts(db: Db, accounts: Account[]) {
  await db.query('INSERT INTO payment.accounts (id, owner, balance) SELECT i, i, b FROM unnest($1::text[], $2::bigint[]) AS a (i, b)', [
    accounts.map((a) => a.id),
    accounts.map((a) => a.balance),
  ]);
}

/** Per product: stock + active reservations = the initial stock. */
export async function stockNotConserved(db: Db, products: Product[]) {
  const { rows } = await db.query<{ sku: string; total: number }>(
    `SELECT p.sku, p.stock + (SELECT coalesce(sum(r.qty), 0)::int FROM inventory.reservations r
                              WHERE r.sku = p.sku AND r.status = 'active') AS total
     FROM inventory.products p WHERE p.sku = ANY($1)`,
    [products.map((p) => p.sku)],
  );
  const totals = new Map(rows.map((r) => [r.sku, r.total]));
  return products.filter((p) => totals.get(p.sku) !== p.stock).map((p) => ({ sku: p.sku, initial: p.stock, now: totals.get(p.sku) }));
}

/** Per account: balance + charges not refunded = the initial balance. */
export async function moneyNotConserved(db: Db, accounts: Account[]) {
  const { rows } = await db.query<{ id: string; total: string }>(
    `SELECT a.id, a.balance + (SELECT coalesce(sum(c.amount), 0) FROM payment.charges c
                               WHERE c.account_id = a.id AND c.status = 'charged') AS total
     FROM payment.accounts a WHERE a.id = ANY($1)`,
    [accounts.map((a) => a.id)],
  );
  const totals = new Map(rows.map((r) => [r.id, Number(r.total)]));
  return accounts.filter((a) => totals.get(a.id) !== a.balance).map((a) => ({ id: a.id, initial: a.balance, now: totals.get(a.id) }));
}

/**
 * place-order: every saga's order is confirmed (the saga completed) with one active
 * reservation and one charge, or cancelled with neither, or (rolled back) never created.
 */
export async function ordersInconsistent(db: Db, txIds: string[], completed: Set<string>) {
  const { rows } = await db.query<{ tx_id: string; status: string | null; reserved: number; charged: number }>(
    `SELECT t.id AS tx_id, o.status,
            (SELECT count(*)::int FROM inventory.reservations r WHERE r.order_id = o.id AND r.status = 'active') AS reserved,
            (SELECT count(*)::int FROM payment.charges c WHERE c.order_id = o.id AND c.status = 'charged') AS charged
     FROM unnest($1::text[]) AS t (id) LEFT JOIN orders.orders o ON o.tx_id = t.id`,
    [txIds],
  );
  const expected = (txId: string) =>
    completed.has(txId) ? { status: 'confirmed', reserved: 1, charged: 1 } : { status: 'cancelled', reserved: 0, charged: 0 };
  // A saga rolled back before its create-order ran (a deadline passed meanwhile) has no order.
  const noOrder = (txId: string, status: string | null) => status === null && !completed.has(txId);
  return rows.filter(
    ({ tx_id, status, reserved, charged }) => !noOrder(tx_id, status) && !isDeepStrictEqual({ status, reserved, charged }, expected(tx_id)),
  );
}

/** buy-now: a committed transaction kept its reservation and its charge; an aborted one neither. */
export async function buyNowInconsistent(db: Db, txIds: string[], committed: Set<string>) {
  const { rows } = await db.query<{ tx_id: string; reserved: number; charged: number }>(
    `SELECT t.id AS tx_id,
            (SELECT count(*)::int FROM inventory.reservations r WHERE r.tx_id = t.id AND r.status = 'active') AS reserved,
            (SELECT count(*)::int FROM payment.charges c WHERE c.tx_id = t.id AND c.status = 'charged') AS charged
     FROM unnest($1::text[]) AS t (id)`,
    [txIds],
  );
  const expected = (txId: string) => (committed.has(txId) ? { reserved: 1, charged: 1 } : { reserved: 0, charged: 0 });
  return rows.filter(({ tx_id, reserved, charged }) => !isDeepStrictEqual({ reserved, charged }, expected(tx_id)));
}

/** Prepared transactions still held by participants on topic prefix `prefix`. */
export async function preparedLeft(db: Db, prefix: string): Promise<string[]> {
  const { rows } = await db.query<{ gid: string }>('SELECT gid FROM pg_prepared_xacts WHERE starts_with(gid, $1)', [`ordo:${prefix}`]);
  return rows.map((r) => r.gid);
}

/**
 * transfer: a completed transfer has both holds confirmed, a compensated one none (cancelled
 * or never made), and no hold stays tried; nothing is frozen, the total is unchanged, and each
 * balance is its initial one moved by exactly its confirmed holds.
 */
export async function transfersInconsistent(db: Db, txIds: string[], completed: Set<string>, accounts: Account[]) {
  const holds = await db.query<{ tx_id: string; confirmed: number; tried: number }>(
    `SELECT t.id AS tx_id, count(h.id) FILTER (WHERE h.status = 'confirmed')::int AS confirmed,
            count(h.id) FILTER (WHERE h.status = 'tried')::int AS tried
     FROM unnest($1::text[]) AS t (id) LEFT JOIN payment.transfer_holds h ON h.tx_id = t.id GROUP BY t.id`,
    [txIds],
  );
  const violations: object[] = holds.rows.filter((r) => r.tried > 0 || r.confirmed !== (completed.has(r.tx_id) ? 2 : 0));
  const final = await db.query<{ id: string; balance: string; frozen: string; moved: string }>(
    `SELECT a.id, a.balance, a.frozen,
            (SELECT coalesce(sum(CASE h.direction WHEN 'credit' THEN h.amount ELSE -h.amount END), 0)
             FROM payment.transfer_holds h WHERE h.account_id = a.id AND h.status = 'confirmed') AS moved
     FROM payment.accounts a WHERE a.id = ANY($1)`,
    [accounts.map((a) => a.id)],
  );
  const initial = new Map(accounts.map((a) => [a.id, a.balance]));
  for (const r of final.rows) {
    if (Number(r.frozen) !== 0 || Number(r.balance) - Number(r.moved) !== initial.get(r.id)) violations.push({ account: r });
  }
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const total = sum(final.rows.map((r) => Number(r.balance)));
  if (total !== sum(accounts.map((a) => a.balance))) violations.push({ total, initial: sum(accounts.map((a) => a.balance)) });
  return violations;
}

/**
 * Effects applied twice: more than one order, reservation, charge or hold for one
 * (transaction, step), or more than one barrier row per (transaction, step, phase).
 */
export async function effectsAppliedTwice(db: Db, txIds: string[]) {
  const { rows } = await db.query<{ what: string; tx_id: string; step_id: string; n: number }>(
    `SELECT what, tx_id, step_id, n FROM (
       SELECT 'order' AS what, tx_id, '' AS step_id, count(*)::int AS n FROM orders.orders WHERE tx_id = ANY($1) GROUP BY tx_id
       UNION ALL SELECT 'reservation', tx_id, step_id, count(*)::int FROM inventory.reservations WHERE tx_id = ANY($1) GROUP BY tx_id, step_id
       UNION ALL SELECT 'charge', tx_id, step_id, count(*)::int FROM payment.charges WHERE tx_id = ANY($1) GROUP BY tx_id, step_id
       UNION ALL SELECT 'hold', tx_id, step_id, count(*)::int FROM payment.transfer_holds WHERE tx_id = ANY($1) GROUP BY tx_id, step_id
       UNION ALL SELECT 'barrier:' || s || ':' || phase, tx_id, step_id, count(*)::int FROM (
         SELECT 'orders' AS s, tx_id, step_id, phase FROM orders.ordo_barrier WHERE tx_id = ANY($1)
         UNION ALL SELECT 'inventory', tx_id, step_id, phase FROM inventory.ordo_barrier WHERE tx_id = ANY($1)
         UNION ALL SELECT 'payment', tx_id, step_id, phase FROM payment.ordo_barrier WHERE tx_id = ANY($1)) b
       GROUP BY s, tx_id, step_id, phase) effects
     WHERE n > 1`,
    [txIds],
  );
  return rows;
}
