import { lazy, type ReactNode, Suspense, useEffect, useRef, useState } from 'react';

/*
 * The charts load on demand: Recharts (and the charts built on it) is a chunk of its own, fetched
 * when a chart is first shown, so the first load of the page stays as small as it was. The
 * explorer's charts sit below the fold: they are mounted (and their chunk fetched, their
 * aggregates read) only once their section comes near the viewport, so the explorer's first
 * paint and its tables do not wait on them.
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

/**
 * Renders `children` once the placeholder is near the viewport (IntersectionObserver); where
 * there is none (an old browser, jsdom), a button shows them.
 */
function WhenVisible({
  children,
  placeholder,
  className,
  testId,
}: {
  readonly children: ReactNode;
  readonly placeholder: ReactNode;
  readonly className?: string;
  /** The show button's test id (where there is no IntersectionObserver). */
  readonly testId: string;
}) {
  const ref = useRef<HTMLDivElement | null>(null);
  const [visible, setVisible] = useState(false);
  const [observable] = useState(() => typeof IntersectionObserver !== 'undefined');
  useEffect(() => {
    const element = ref.current;
    if (visible || !observable || !element) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) setVisible(true);
      },
      { rootMargin: '200px' },
    );
    observer.observe(element);
    return () => observer.disconnect();
  }, [visible, observable]);
  if (visible) return children;
  return (
    <div ref={ref} className={className}>
      {placeholder}
      {observable ? null : (
        <button type="button" data-testid={testId} onClick={() => setVisible(true)}>
          Show
        </button>
      )}
    </div>
  );
}

/** The explorer's charts over time (test id `chain-charts`), loaded lazily once scrolled near. */
export function LazyChainCharts() {
  return (
    <WhenVisible
      className="card chain-charts"
      testId="show-charts"
      placeholder={
        <h2 id="charts-heading" data-testid="chain-charts-placeholder">
          Charts
        </h2>
      }
    >
      <Suspense fallback={<Loading what="the charts" />}>
        <ChainCharts />
      </Suspense>
    </WhenVisible>
  );
}

/** The wallet's balance chart (test id `chart-balance`), loaded lazily once scrolled near. */
export function LazyBalanceChart({ pem }: { readonly pem: string }) {
  return (
    <WhenVisible testId="show-balance-chart" placeholder={<Loading what="the balance chart" />}>
      <Suspense fallback={<Loading what="the balance chart" />}>
        <BalanceChart pem={pem} />
      </Suspense>
    </WhenVisible>
  );
}
