// @vitest-environment jsdom
import { render, screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import { hash } from '../../src/core/hash';
import { runLottery, type StakeEntry } from '../../src/core/lottery';
import type { TabchainNode } from '../../src/node/node';
import { BINS, LotteryLine, MAX_SINGLE_TICKS } from '../../src/ui/explorer/LotteryLine';
import { distance, drawLots, nearestLots, SPACE, shareOfLine } from '../../src/ui/explorer/lottery-lots';
import { fingerprint } from '../../src/ui/format';
import { ServicesProvider } from '../../src/ui/services';
import { cleanUpAfterEach, devnetConfig, makeServices, startNode } from './helpers';

cleanUpAfterEach();

let node: TabchainNode;
beforeEach(async () => {
  node = await startNode();
});

const genesisKey = () => devnetConfig().genesisPublicKey;
const stakerKey = () => devnetConfig().stakerPublicKey ?? '';
const otherKey =
  '-----BEGIN PUBLIC KEY-----\nnot a real key, a staker for the picture\n-----END PUBLIC KEY-----';
const seed = hash('a block hash for the lottery line');

function renderLine(stakers: StakeEntry[]) {
  const result = runLottery(stakers, seed);
  if (!result) throw new Error('no lottery');
  render(
    <ServicesProvider services={makeServices(node)}>
      <LotteryLine stakers={stakers} seed={seed} result={result} />
    </ServicesProvider>,
  );
  return result;
}

describe('the lottery drawn as a number line', () => {
  it('recomputes the same lots as the lottery: its nearest lot is the winner', () => {
    const stakers: StakeEntry[] = [
      [genesisKey(), 1],
      [stakerKey(), 40],
      [otherKey, 25],
    ];
    const result = runLottery(stakers, seed);
    const all = drawLots(stakers, seed);
    const target = BigInt(`0x${result?.referenceHash}`);
    const [nearest] = nearestLots(all, target, 3);
    expect(all[nearest?.staker ?? -1]?.publicKey).toBe(result?.forger);
    expect(nearest?.iteration).toBe(result?.iteration);
    expect(nearest?.value).toBe(BigInt(`0x${result?.lotHash}`));
  });

  it('with 3 lots: each lot a tick in its staker colour, the target, the winner highlighted and its distance', async () => {
    const stakers: StakeEntry[] = [
      [genesisKey(), 1],
      [stakerKey(), 2],
    ];
    const result = renderLine(stakers);
    const line = screen.getByTestId('lottery-line');
    const svg = await within(line).findByTestId('lottery-line-svg');
    const marks = within(svg).getByTestId('lottery-marks');
    const ticks = marks.querySelectorAll('[data-mark="lot"]');
    expect(ticks).toHaveLength(3);
    // Two colours: one per staker.
    expect(new Set([...ticks].map((tick) => tick.getAttribute('stroke'))).size).toBe(2);
    expect(within(svg).getByTestId('lottery-line-winner')).toBeTruthy();
    const d = distance(BigInt(`0x${result.lotHash}`), BigInt(`0x${result.referenceHash}`));
    // With 3 lots the winner lies far from the target (here over 1/40 of the line): no inset needed.
    expect(d > SPACE / 40n).toBe(true);
    expect(within(svg).queryByTestId('lottery-inset')).toBeNull();
    expect(within(svg).getByTestId('lottery-distance').textContent).toBe(`distance ${shareOfLine(d)}`);
    // The text alternative: the title and description, and the summary under the picture.
    expect(svg.getAttribute('role')).toBe('img');
    expect(svg.querySelector('title')?.textContent).toMatch(/number line of the 256-bit space/);
    const summary = screen.getByTestId('lottery-line-summary').textContent ?? '';
    const winnerName = result.forger === genesisKey() ? 'devnet genesis' : 'devnet staker';
    expect(summary).toContain(`The target is 0x${result.referenceHash.slice(0, 10)}`);
    expect(summary).toContain(`${winnerName}'s lot ${result.iteration} is closest, at distance 0x`);
    expect(summary).toContain(shareOfLine(d));
    expect(svg.querySelector('desc')?.textContent).toContain(summary);
    // The legend names each staker with its lots.
    expect(line.querySelector('.ll-legend')?.textContent).toMatch(
      /devnet genesis: 1 lot.*devnet staker: 2 lots/,
    );
  });

  it('with one lot far from the target: no zoomed inset, the distance bracketed on the whole line', async () => {
    // Seeds are tried until the only lot lies far from the target (a zoom under 8 shows nothing new).
    let found: string | null = null;
    for (let i = 0; found === null; i++) {
      const candidate = hash(`seed ${i}`);
      const result = runLottery([[genesisKey(), 1]], candidate);
      const d = distance(BigInt(`0x${result?.lotHash}`), BigInt(`0x${result?.referenceHash}`));
      if (d > 1n << 253n) found = candidate;
    }
    const result = runLottery([[genesisKey(), 1]], found);
    render(
      <ServicesProvider services={makeServices(node)}>
        {result ? <LotteryLine stakers={[[genesisKey(), 1]]} seed={found} result={result} /> : null}
      </ServicesProvider>,
    );
    const svg = await screen.findByTestId('lottery-line-svg');
    expect(within(svg).queryByTestId('lottery-inset')).toBeNull();
    expect(within(svg).getByTestId('lottery-distance').textContent).toMatch(/^distance \d+ % of the line$/);
    expect(screen.getByTestId('lottery-line-summary').textContent).toMatch(
      /devnet genesis's lot 1 is closest/,
    );
  });

  it('with thousands of lots: counts per bin and staker (a bounded number of marks), the winner still distinguishable', async () => {
    const stakers: StakeEntry[] = [
      [genesisKey(), 1],
      [stakerKey(), 3000],
      [otherKey, 2000],
    ];
    const total = 5001;
    expect(total).toBeGreaterThan(MAX_SINGLE_TICKS);
    const result = renderLine(stakers);
    const svg = await screen.findByTestId('lottery-line-svg');
    const marks = within(svg).getByTestId('lottery-marks');
    expect(marks.querySelectorAll('[data-mark="lot"]')).toHaveLength(0);
    const bins = [...marks.querySelectorAll('[data-mark="bin"]')];
    expect(bins.length).toBeGreaterThan(BINS);
    expect(bins.length).toBeLessThanOrEqual(BINS * stakers.length);
    expect(svg.querySelectorAll('rect, line, circle, path, polyline').length).toBeLessThan(
      BINS * stakers.length + 40,
    );
    // Every lot is counted once, in its staker's bars.
    const counted = bins.reduce(
      (sum, bin) => sum + Number(/(\d+) lots?/.exec(bin.textContent ?? '')?.[1]),
      0,
    );
    expect(counted).toBe(total);
    // The inset draws the winner apart from its nearest rivals.
    const inset = within(svg).getByTestId('lottery-inset');
    expect(within(inset).getByTestId('lottery-inset-winner')).toBeTruthy();
    expect(inset.querySelectorAll('line').length).toBeLessThanOrEqual(13);
    expect(svg.querySelector('desc')?.textContent).toMatch(/5,?001 lots of 3 stakers, counted in 72 bins/);
    const winner =
      result.forger === otherKey
        ? fingerprint(otherKey)
        : result.forger === stakerKey()
          ? 'devnet staker'
          : 'devnet genesis';
    expect(screen.getByTestId('lottery-line-summary').textContent).toContain(
      `${winner}'s lot ${result.iteration} is closest`,
    );
    expect(screen.getByTestId('lottery-line-summary').textContent).toMatch(
      /the next closest lot, .*'s lot \d+, is at /,
    );
  });
});
