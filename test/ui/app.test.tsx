// @vitest-environment jsdom
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { App } from '../../src/ui/App';
import { THEME_SETTING_KEY } from '../../src/ui/theme';
import { cleanUpAfterEach, makeServices, renderApp, startNode } from './helpers';

const GENESIS_HASH = 'b61900e4532596cc8d24dece2bb7f3e8533acfe7b6b9f2954fc618b6abfacc9d';

cleanUpAfterEach(() => {
  localStorage.clear();
  delete document.documentElement.dataset.theme;
});

describe('start-up screens', () => {
  it('shows the genesis block while loading', () => {
    render(<App boot={{ status: 'loading' }} />);
    expect(screen.getByTestId('devnet-loading')).toBeTruthy();
    expect(screen.getByTestId('genesis-hash').textContent).toBe(GENESIS_HASH);
  });

  it('explains how to create devnet.json when it is missing', () => {
    render(
      <App boot={{ status: 'error', message: 'No network configuration at /devnet.json.', missing: true }} />,
    );
    const error = screen.getByTestId('devnet-error');
    expect(error.getAttribute('role')).toBe('alert');
    expect(error.textContent).toContain('No network configuration at /devnet.json');
    expect(error.textContent).toContain('npm run devnet-keys');
    expect(screen.queryByTestId('network-name')).toBeNull();
    expect(screen.getByTestId('genesis-hash').textContent).toBe(GENESIS_HASH);
  });

  it('reports another start-up failure without the devnet hint', () => {
    render(<App boot={{ status: 'error', message: 'IndexedDB exploded.', missing: false }} />);
    expect(screen.getByTestId('devnet-error').textContent).toMatch(
      /The node could not start.*IndexedDB exploded/,
    );
    expect(screen.getByTestId('devnet-error').textContent).not.toContain('npm run devnet-keys');
  });
});

describe('the running app', () => {
  it('shows the head and navigates between sections by hash', async () => {
    const node = await startNode();
    renderApp(makeServices(node), '');
    expect(screen.getByTestId('head-height').textContent).toBe('0');
    expect(screen.getByTestId('head-hash').getAttribute('data-value')).toBe(GENESIS_HASH);
    expect(screen.getByTestId('head-hash').textContent).not.toBe(GENESIS_HASH); // shortened
    expect(screen.getByTestId('nav-wallet').getAttribute('aria-current')).toBe('page');
    expect(screen.getByTestId('create-key')).toBeTruthy();

    window.location.hash = '#/network';
    await waitFor(() => expect(screen.getByTestId('nav-network').getAttribute('aria-current')).toBe('page'));
    expect(screen.getByTestId('network-name')).toBeTruthy();

    window.location.hash = '#/nowhere';
    await waitFor(() =>
      expect(screen.getByTestId('not-found').textContent).toMatch(/Nothing lives at \/nowhere/),
    );
  });

  it('labels every form field', async () => {
    const node = await startNode();
    const { container } = renderApp(makeServices(node), '#/wallet');
    const fields = container.querySelectorAll('input, textarea, select');
    expect(fields.length).toBeGreaterThan(5);
    for (const field of fields) {
      const id = field.getAttribute('id');
      const labelled =
        (id !== null && container.querySelector(`label[for="${id}"]`) !== null) ||
        field.closest('label') !== null ||
        field.hasAttribute('aria-label');
      expect(labelled, `${field.outerHTML} has a label`).toBe(true);
    }
  });

  it('switches the theme and remembers the choice', async () => {
    const node = await startNode();
    renderApp(makeServices(node));
    const select = screen.getByTestId('theme-select') as HTMLSelectElement;
    expect(select.value).toBe('system');
    fireEvent.change(select, { target: { value: 'dark' } });
    await waitFor(() => expect(document.documentElement.dataset.theme).toBe('dark'));
    expect(localStorage.getItem(THEME_SETTING_KEY)).toBe('dark');
    fireEvent.change(select, { target: { value: 'system' } });
    await waitFor(() => expect(document.documentElement.dataset.theme).toBeUndefined());
    expect(localStorage.getItem(THEME_SETTING_KEY)).toBeNull();
  });

  it('starts with the stored theme', async () => {
    localStorage.setItem(THEME_SETTING_KEY, 'light');
    const node = await startNode();
    renderApp(makeServices(node));
    expect((screen.getByTestId('theme-select') as HTMLSelectElement).value).toBe('light');
    await waitFor(() => expect(document.documentElement.dataset.theme).toBe('light'));
  });
});
