import { useSyncExternalStore } from 'react';

/**
 * Hash routing: `#/wallet` (the default), `#/explorer`, `#/network` (`#/network/node/<id>` for
 * one node in it), `#/block/12`,
 * `#/tx/<32 hex>`, `#/account/<fingerprint>`. The hash is untrusted input like any other: a
 * route that does not parse is `not-found`.
 */
export type Route =
  | { readonly page: 'wallet' }
  | { readonly page: 'explorer' }
  | { readonly page: 'network'; readonly node?: string }
  | { readonly page: 'block'; readonly height: number }
  | { readonly page: 'tx'; readonly id: string }
  | { readonly page: 'account'; readonly fingerprint: string }
  | { readonly page: 'not-found'; readonly path: string };

/** Reads a location hash (`#/block/12`) as a route. */
export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/\/+$/, '');
  if (path === '' || path === '/wallet') return { page: 'wallet' };
  if (path === '/explorer') return { page: 'explorer' };
  if (path === '/network') return { page: 'network' };
  const node = /^\/network\/node\/([0-9A-Za-z_-]{1,64})$/.exec(path);
  if (node) return { page: 'network', node: node[1] as string };
  const block = /^\/block\/(\d{1,15})$/.exec(path);
  if (block) return { page: 'block', height: Number(block[1]) };
  const tx = /^\/tx\/([0-9a-fA-F]{32})$/.exec(path);
  if (tx) return { page: 'tx', id: (tx[1] as string).toLowerCase() };
  const account = /^\/account\/([0-9a-fA-F]{6,64})$/.exec(path);
  if (account) return { page: 'account', fingerprint: (account[1] as string).toLowerCase() };
  return { page: 'not-found', path };
}

/** The `href` of a route (`#/block/12`). */
export function hrefFor(route: Route): string {
  switch (route.page) {
    case 'wallet':
    case 'explorer':
      return `#/${route.page}`;
    case 'network':
      return route.node === undefined ? '#/network' : `#/network/node/${route.node}`;
    case 'block':
      return `#/block/${route.height}`;
    case 'tx':
      return `#/tx/${route.id}`;
    case 'account':
      return `#/account/${route.fingerprint}`;
    case 'not-found':
      return `#${route.path}`;
  }
}

/** Goes to a route (adds a history entry, so Back works). */
export function navigate(route: Route): void {
  window.location.hash = hrefFor(route);
}

function subscribe(listener: () => void): () => void {
  window.addEventListener('hashchange', listener);
  return () => window.removeEventListener('hashchange', listener);
}

const currentHash = () => window.location.hash;

/** The current route; re-renders when the hash changes. */
export function useRoute(): Route {
  return parseRoute(useSyncExternalStore(subscribe, currentHash, () => ''));
}
