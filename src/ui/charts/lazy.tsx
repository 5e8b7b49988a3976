import { lazy, Suspense } from 'react';

/*
 * The charts load on demand: Recharts (and the charts built on it) is a chunk of its own, fetched
 * when a chart is first shown, so the first load of the page stays as small as it was.
 */
const ChainCharts = lazy(() => import('./ChainCharts'));
const BalanceChart = lazy(() => import('./BalanceChart'));

function Loading({ what }: { readonly what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** The explorer's charts over time (test id `chain-charts`), loaded lazily. */
export function LazyChainCharts() {
  return (
    <Suspense fallback={<Loading what="the charts" />}>
      <ChainCharts />
    </Suspense>
  );
}

/** The wallet's balance chart (test id `chart-balance`), loaded lazily. */
export function LazyBalanceChart({ pem }: { readonly pem: string }) {
  return (
    <Suspense fallback={<Loading what="the balance chart" />}>
      <BalanceChart pem={pem} />
    </Suspense>
  );
}
