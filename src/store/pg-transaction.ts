import type pg from 'pg';

/** Runs `body` in one transaction on a client of the pool: committed, or rolled back and rethrown. */
export function pgTransaction(pool: pg.Pool) {
  return async function transaction<T>(body: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      const result = await body(c);
      await c.query('COMMIT');
      return result;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  };
}
