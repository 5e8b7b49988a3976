import { type MouseEvent, type ReactNode, useEffect } from 'react';
import type { NodeSnapshot } from '../node/node';
import { AccountLabel, HashText } from './components/bits';
import { ExplorerPage, WaitingBanner } from './explorer/ExplorerPage';
import { AccountPage, BlockPage, NotFound, TxPage } from './explorer/pages';
import { SearchBox } from './explorer/SearchBox';
import { shortHash } from './format';
import { Checklist } from './guide/Checklist';
import { GenesisCard } from './network/about';
import { NetworkPage } from './network/NetworkPage';
import { hrefFor, type Route, useRoute } from './router';
import { type AppServices, ServicesProvider, useServices, useSnapshot } from './services';
import { type Theme, useTheme } from './theme';
import { DevnetKeyOffer } from './wallet/DevnetKeyOffer';
import { MyTransactions } from './wallet/MyTransactions';
import { ExchangeForm, StakeForm, TransferForm } from './wallet/TransactionForms';
import { WalletPanel } from './wallet/WalletPanel';
import './App.css';

/** What the composition root hands the app: still starting, failed to start, or a running node. */
export type BootState =
  | { readonly status: 'loading'; readonly message?: string }
  | { readonly status: 'error'; readonly message: string; readonly missing: boolean }
  | { readonly status: 'ready'; readonly services: AppServices };

const PAGES: readonly { readonly page: 'wallet' | 'explorer' | 'network'; readonly label: string }[] = [
  { page: 'wallet', label: 'Wallet' },
  { page: 'explorer', label: 'Explorer' },
  { page: 'network', label: 'Network' },
];

/** Which top-level tab a route belongs to. */
function sectionOf(route: Route): 'wallet' | 'explorer' | 'network' | null {
  if (route.page === 'wallet' || route.page === 'network') return route.page;
  if (route.page === 'not-found') return null;
  return 'explorer';
}

function ThemeSelect() {
  const [theme, setTheme] = useTheme();
  return (
    <label className="theme-select">
      <span className="visually-hidden">Colour theme</span>
      <select
        data-testid="theme-select"
        value={theme}
        onChange={(event) => setTheme(event.target.value as Theme)}
      >
        <option value="system">System theme</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}

/** One figure of the chain status: its name over its value (a group of the `dl`, for the layout). */
function StatusItem({ label, children }: { readonly label: string; readonly children: ReactNode }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** What the header says about the network, by the node's phase and the transport's signaling status. */
function networkText(snapshot: NodeSnapshot): string {
  if (snapshot.phase !== 'connected') return snapshot.phase === 'ready' ? 'connecting…' : snapshot.phase;
  switch (snapshot.transport.signaling) {
    case 'connected':
    case 'n/a':
      return 'online';
    case 'connecting':
      return 'online, signaling reconnecting…';
    case 'down':
      return 'online, signaling unreachable';
  }
}

/** The head of the chain and the network at a glance, on every page. */
function ChainStatus() {
  const snapshot = useSnapshot();
  const { devnet } = useServices();
  const profile = devnet.profile ?? 'reference';
  return (
    <dl className="chain-status" aria-label="Chain status">
      <StatusItem label="Height">
        <a href={hrefFor({ page: 'block', height: snapshot.height })} data-testid="head-height">
          {snapshot.height}
        </a>
      </StatusItem>
      <StatusItem label="Head">
        <HashText
          hash={snapshot.headHash}
          testId="head-hash"
          to={{ page: 'block', height: snapshot.height }}
          // The visible (shortened) hash is part of the name, as speech input users say what they see.
          label={`Head block ${snapshot.height}, hash ${shortHash(snapshot.headHash)}`}
        />
      </StatusItem>
      <StatusItem label="Next forger">
        <AccountLabel pem={snapshot.nextForger} testId="next-forger" copy={false} />
      </StatusItem>
      <StatusItem label="Peers">
        <a href={hrefFor({ page: 'network' })} data-testid="peer-count">
          {snapshot.peers.length}
        </a>
      </StatusItem>
      <StatusItem label="Pool">
        <a href={hrefFor({ page: 'explorer' })} data-testid="pool-size">
          {snapshot.pool.length}
        </a>
        {snapshot.sync ? <span className="muted"> syncing…</span> : null}
      </StatusItem>
      <StatusItem label="Network">
        <a
          href={hrefFor({ page: 'network' })}
          data-testid="network-status"
          data-phase={snapshot.phase}
          data-signaling={snapshot.transport.signaling}
        >
          {networkText(snapshot)}
        </a>
        {profile === 'reference' ? null : (
          <span className="muted" data-testid="header-profile" data-value={profile}>
            {' '}
            · profile: {profile}
          </span>
        )}
      </StatusItem>
    </dl>
  );
}

/**
 * The first thing Tab reaches: straight to the page's content past the header, status and
 * navigation. Routing uses the location hash, so the link moves focus itself.
 */
function SkipLink() {
  const onClick = (event: MouseEvent) => {
    event.preventDefault();
    const main = document.getElementById('main');
    main?.focus();
    main?.scrollIntoView?.({ block: 'start' });
  };
  return (
    // biome-ignore lint/a11y/useValidAnchor: a skip link is an in-page link; the click handler only keeps the hash route
    <a className="skip-link" href="#main" onClick={onClick} data-testid="skip-link">
      Skip to content
    </a>
  );
}

/**
 * On `#/network/node/<id>`, brings the node into view in the Network view: the element that
 * marks it (`data-node`), or else the first code element showing the id, briefly highlighted.
 */
function useRevealNode(route: Route): void {
  const node = route.page === 'network' ? route.node : undefined;
  useEffect(() => {
    if (node === undefined) return;
    let target: Element | undefined;
    let tries = 0;
    const find = (): Element | undefined => {
      const main = document.getElementById('main');
      const marked = [...(main?.querySelectorAll('[data-node]') ?? [])].find(
        (element) => element.getAttribute('data-node') === node,
      );
      return marked ?? [...(main?.querySelectorAll('code') ?? [])].find((code) => code.textContent === node);
    };
    // The view may still be reading what it shows: look again for a moment.
    const look = () => {
      target = find();
      if (target) {
        target.scrollIntoView?.({ block: 'center' });
        target.classList.add('node-target');
      } else if (++tries < 20) timer = setTimeout(look, 100);
    };
    let timer = setTimeout(look, 0);
    return () => {
      clearTimeout(timer);
      target?.classList.remove('node-target');
    };
  }, [node]);
}

function Header({ children }: { readonly children?: ReactNode }) {
  return (
    <header className="app-header">
      <div className="brand">
        <h1>tabchain</h1>
        <p className="tagline">A proof-of-stake blockchain where every browser tab is a full node.</p>
      </div>
      <ThemeSelect />
      {children}
    </header>
  );
}

function Nav({ route }: { readonly route: Route }) {
  const current = sectionOf(route);
  return (
    <nav className="tabs" aria-label="Sections">
      {PAGES.map(({ page, label }) => (
        <a
          key={page}
          href={hrefFor({ page })}
          aria-current={current === page ? 'page' : undefined}
          data-testid={`nav-${page}`}
        >
          {label}
        </a>
      ))}
    </nav>
  );
}

function NoticesBanner() {
  const { startupNotices } = useServices();
  const { notices } = useSnapshot();
  const count = startupNotices.length + notices.length;
  if (count === 0) return null;
  return (
    <p className="banner banner-notice" role="status" data-testid="notices-banner">
      {startupNotices[0] ?? notices[0]}
      {count > 1 ? (
        <>
          {' '}
          <a href={hrefFor({ page: 'network' })}>{count - 1} more notices</a>
        </>
      ) : null}
    </p>
  );
}

/**
 * The node's phase when it is not simply connected: its transport is still starting (it may wait
 * for the signaling server, and the tab works alone meanwhile), or it has stopped.
 */
function PhaseBanner() {
  const { phase, transport } = useSnapshot();
  if (phase !== 'ready' && phase !== 'stopped') return null;
  return (
    <p className="banner banner-notice" role="status" data-testid="node-phase" data-value={phase}>
      {phase === 'stopped'
        ? 'This tab’s node has stopped: it takes no transactions and hears no peers. Reload the page to start it again.'
        : `Connecting to the network${transport.signaling === 'down' ? ': the signaling server is unreachable, retrying' : '…'}. This tab’s chain is restored and works alone meanwhile.`}
    </p>
  );
}

/** Until the node has restored its chain there is nothing of it to show. */
function Restoring() {
  return (
    <section className="card" aria-busy="true" data-testid="node-phase" data-value="restoring">
      <h2>Starting</h2>
      <p className="muted">Restoring this tab’s chain from its storage…</p>
    </section>
  );
}

function WalletPage() {
  return (
    <div className="page-grid wallet-page">
      <WalletPanel />
      <div className="actions">
        <ExchangeForm />
        <StakeForm />
        <TransferForm />
      </div>
      <MyTransactions />
    </div>
  );
}

function Page({ route }: { readonly route: Route }) {
  switch (route.page) {
    case 'wallet':
      return <WalletPage />;
    case 'explorer':
      return <ExplorerPage />;
    case 'network':
      return <NetworkPage />;
    case 'block':
      return <BlockPage height={route.height} />;
    case 'tx':
      return <TxPage id={route.id} />;
    case 'account':
      return <AccountPage fingerprint={route.fingerprint} />;
    case 'not-found':
      return <NotFound title="No such page">Nothing lives at {route.path}.</NotFound>;
  }
}

function RunningApp() {
  const route = useRoute();
  const { phase } = useSnapshot();
  useRevealNode(route);
  if (phase === 'restoring') {
    return (
      <div className="app">
        <SkipLink />
        <Header />
        <main className="app-main" id="main" tabIndex={-1}>
          <Restoring />
        </main>
      </div>
    );
  }
  return (
    <div className="app">
      <SkipLink />
      <Header>
        <ChainStatus />
        <div className="header-bar">
          <Nav route={route} />
          <SearchBox />
        </div>
      </Header>
      <PhaseBanner />
      <WaitingBanner />
      <DevnetKeyOffer />
      <NoticesBanner />
      <main className="app-main" id="main" tabIndex={-1}>
        <Checklist />
        <Page route={route} />
      </main>
    </div>
  );
}

/** The whole page: a start-up or error screen, or the running node's wallet, explorer and network views. */
export function App({ boot }: { readonly boot: BootState }) {
  if (boot.status === 'ready') {
    return (
      <ServicesProvider services={boot.services}>
        <RunningApp />
      </ServicesProvider>
    );
  }
  return (
    <div className="app">
      <SkipLink />
      <Header />
      <main className="app-main" id="main" tabIndex={-1}>
        {boot.status === 'loading' ? (
          <section className="card" aria-busy="true" data-testid="devnet-loading">
            <h2>Starting</h2>
            <p className="muted">{boot.message ?? 'Loading the network configuration…'}</p>
          </section>
        ) : (
          <section className="card card-error" role="alert" data-testid="devnet-error">
            <h2>{boot.missing ? 'Network configuration unavailable' : 'The node could not start'}</h2>
            <p>{boot.message}</p>
            {boot.missing ? (
              <p>
                Create <code>public/devnet.json</code> with <code>npm run devnet-keys</code>, then reload.
              </p>
            ) : null}
          </section>
        )}
        <GenesisCard />
      </main>
    </div>
  );
}
