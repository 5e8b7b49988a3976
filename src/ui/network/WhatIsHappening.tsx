import { useEffect, useRef, useState } from 'react';
import type { NodeSnapshot } from '../../node/node';
import { useAccountNames } from '../accounts';
import { useServices, useSnapshot } from '../services';
import { describeChanges, describeState, fingerprintNamer, type NetworkEvent } from './describe-changes';
import './NetworkMap.css';

/** Events the panel keeps, newest first. */
export const MAX_EVENTS = 20;

interface ShownEvent extends NetworkEvent {
  readonly key: number;
  readonly at: number;
}

/** "What is happening": each change of the node, told in plain words as it happens. */
export function WhatIsHappening() {
  const snapshot = useSnapshot();
  const names = useAccountNames();
  const { now } = useServices();
  const previous = useRef<NodeSnapshot | null>(null);
  const counter = useRef(0);
  const [events, setEvents] = useState<readonly ShownEvent[]>([]);

  useEffect(() => {
    const before = previous.current;
    previous.current = snapshot;
    const nameOf = (pem: string) => names.get(pem) ?? fingerprintNamer(pem);
    const found =
      before === null ? [describeState(snapshot, nameOf)] : describeChanges(before, snapshot, nameOf);
    if (found.length === 0) return;
    const at = now();
    const fresh = found.map((event) => {
      counter.current += 1;
      return { ...event, key: counter.current, at };
    });
    // Newest first: the last found is the newest.
    setEvents((list) => [...fresh.reverse(), ...list].slice(0, MAX_EVENTS));
  }, [snapshot, names, now]);

  return (
    <section className="card what-is-happening" aria-labelledby="what-is-happening-heading">
      <h2 id="what-is-happening-heading">What is happening</h2>
      <ol
        className="happening-list"
        data-testid="what-is-happening"
        aria-live="polite"
        aria-relevant="additions"
      >
        {events.map((event) => (
          <li key={event.key} data-kind={event.kind} data-testid="happening-event">
            <time dateTime={new Date(event.at).toISOString()}>{new Date(event.at).toLocaleTimeString()}</time>{' '}
            {event.text}
          </li>
        ))}
      </ol>
      {events.length === 0 ? (
        <p className="muted">
          Nothing yet. Open this page in another tab, or make a transfer: each block, peer and sync is
          explained here as it happens.
        </p>
      ) : null}
    </section>
  );
}
