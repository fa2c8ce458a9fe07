import type { InjectedSinks } from '@temporalio/worker';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { runKindLabels } from './run-kinds';
import type { RunMetricsSinks } from './workflow-interceptors';
import type { PopulationSources } from './population';

// Tunnus's own metrics (docs/metrics.md). Counters are counted where the event happens (the run
// interceptor's sink, in this worker); gauges about the population (who waits, seats, guard
// stops, cleanup findings, stuck runs) are read on scrape from Temporal and Graph through short
// caches (src/metrics/population.ts), so every worker reports the same, restart-proof figures.
// Labels are kinds, reasons and SKUs — never a person.

export interface TunnusMetrics {
  registry: Registry;
  /** Reads the population sources (in parallel, cached) and renders the exposition text. */
  render(): Promise<string>;
  /** The worker's sinks for the run interceptor (src/metrics/workflow-interceptors.ts). */
  sinks: InjectedSinks<RunMetricsSinks>;
}

export function createTunnusMetrics(population?: PopulationSources): TunnusMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tunnus_' });

  const counter = (name: string, help: string, labelNames: string[]) =>
    new Counter({ name, help, labelNames, registers: [registry] });
  const started = counter('tunnus_runs_started_total', 'Runs started, by kind', ['kind']);
  const completed = counter('tunnus_runs_completed_total', 'Runs completed, by kind', ['kind']);
  const failed = counter('tunnus_runs_failed_total', 'Runs failed (workflow failure), by kind', ['kind']);
  const cancelled = counter('tunnus_runs_cancelled_total', 'Runs cancelled, by kind', ['kind']);
  const approvals = counter(
    'tunnus_guard_approvals_total',
    'Runs the mass-change guard stopped that an operator approved, by kind',
    ['kind'],
  );
  // Every kind from zero, so rate() and absent() work before the first run of a kind.
  for (const kind of runKindLabels)
    for (const c of [started, completed, failed, cancelled]) c.inc({ kind }, 0);

  const refresh = population ? registerPopulationGauges(registry, population) : async () => undefined;

  const outcomes = { completed, failed, cancelled };
  return {
    registry,
    async render() {
      await refresh();
      return registry.metrics();
    },
    sinks: {
      runMetrics: {
        started: { fn: (_info, kind) => started.inc({ kind }) },
        finished: { fn: (_info, kind, outcome) => outcomes[outcome].inc({ kind }) },
        approved: { fn: (_info, kind) => approvals.inc({ kind }) },
      },
    },
  };
}

type Source = keyof PopulationSources;
const SOURCES: Source[] = ['runs', 'seats', 'guard', 'cleanup'];

/**
 * Gauges whose values are read on scrape. Returns the refresh that reads every source once, in
 * parallel, before the registry renders; a source that fails leaves its gauges empty and says so
 * in tunnus_metrics_source_up.
 */
function registerPopulationGauges(registry: Registry, population: PopulationSources): () => Promise<void> {
  const latest = new Map<Source, unknown>();
  const up = new Map<Source, boolean>();
  new Gauge({
    name: 'tunnus_metrics_source_up',
    help: 'Whether the last read of a metrics source (runs, seats, guard, cleanup) succeeded (1) or failed (0)',
    labelNames: ['source'],
    registers: [registry],
    collect() {
      for (const [source, ok] of up) this.set({ source }, ok ? 1 : 0);
    },
  });
  const gauge = (
    name: string,
    help: string,
    labelNames: string[],
    source: Source,
    fill: (g: Gauge, value: never) => void,
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        if (up.get(source)) fill(this, latest.get(source) as never);
      },
    });

  gauge(
    'tunnus_people_waiting',
    'People whose run waits, by reason (start_date, effective_date, licence_seat, directory_sync, mailbox)',
    ['reason'],
    'runs',
    (g, runs: Awaited<ReturnType<PopulationSources['runs']>>) => {
      for (const [reason, n] of Object.entries(runs.waiting)) g.set({ reason }, n);
    },
  );
  gauge(
    'tunnus_runs_running',
    'Lifecycle runs running now, by kind',
    ['kind'],
    'runs',
    (g, runs: Awaited<ReturnType<PopulationSources['runs']>>) => {
      for (const [kind, n] of Object.entries(runs.running)) g.set({ kind }, n);
    },
  );
  gauge(
    'tunnus_runs_stuck',
    'Lifecycle runs past their dates, not in a business wait and not finished (planning or applying)',
    [],
    'runs',
    (g, runs: Awaited<ReturnType<PopulationSources['runs']>>) => g.set(runs.stuck),
  );
  gauge(
    'tunnus_run_oldest_stuck_seconds',
    'Age since start of the oldest stuck lifecycle run (0 when none)',
    [],
    'runs',
    (g, runs: Awaited<ReturnType<PopulationSources['runs']>>) => g.set(runs.oldestStuckSeconds),
  );
  gauge(
    'tunnus_licence_seats_free',
    'Free seats per managed SKU',
    ['sku'],
    'seats',
    (g, seats: Awaited<ReturnType<PopulationSources['seats']>>) => {
      for (const s of seats) g.set({ sku: s.sku }, s.free);
    },
  );
  gauge(
    'tunnus_licence_seats_total',
    'Enabled seats per managed SKU',
    ['sku'],
    'seats',
    (g, seats: Awaited<ReturnType<PopulationSources['seats']>>) => {
      for (const s of seats) g.set({ sku: s.sku }, s.seats);
    },
  );
  gauge(
    'tunnus_guard_waiting_runs',
    'Runs the mass-change guard stopped that wait for approval now, by kind',
    ['kind'],
    'guard',
    (g, guard: Awaited<ReturnType<PopulationSources['guard']>>) => {
      for (const [kind, n] of Object.entries(guard.waiting)) g.set({ kind }, n);
    },
  );
  gauge(
    'tunnus_guard_held_changes',
    'Changes the mass-change guard holds for approval (single records, plan apply, rollouts), by loss kind',
    ['kind'],
    'guard',
    (g, guard: Awaited<ReturnType<PopulationSources['guard']>>) => {
      for (const [kind, n] of Object.entries(guard.held)) g.set({ kind }, n);
    },
  );
  gauge(
    'tunnus_guard_oldest_wait_seconds',
    'How long the oldest run stopped by the guard has waited for approval (0 when none)',
    [],
    'guard',
    (g, guard: Awaited<ReturnType<PopulationSources['guard']>>) => g.set(guard.oldestWaitSeconds),
  );
  gauge(
    'tunnus_cleanup_findings',
    'Findings of the last completed leaver cleanup, by kind',
    ['kind'],
    'cleanup',
    (g, cleanup: Awaited<ReturnType<PopulationSources['cleanup']>>) => {
      for (const [kind, n] of Object.entries(cleanup?.counts ?? {})) g.set({ kind }, n);
    },
  );
  gauge(
    'tunnus_cleanup_last_completed_timestamp_seconds',
    'When the last leaver cleanup completed (Unix time; 0 before the first)',
    [],
    'cleanup',
    (g, cleanup: Awaited<ReturnType<PopulationSources['cleanup']>>) => {
      if (cleanup) g.set(cleanup.completedAt / 1000);
    },
  );
  return async () => {
    const read = await Promise.allSettled(SOURCES.map((source) => population[source]()));
    read.forEach((r, i) => {
      const source = SOURCES[i]!;
      up.set(source, r.status === 'fulfilled');
      if (r.status === 'fulfilled') latest.set(source, r.value);
      else latest.delete(source);
    });
  };
}
