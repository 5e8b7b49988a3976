import { useEffect, useId, useState, useSyncExternalStore } from 'react';
import { useRoute } from '../router';
import { useSession, useSnapshot } from '../services';
import {
  CHECKLIST_STEPS,
  type ChecklistStep,
  checklistDismissed,
  rememberDismissed,
  stepsDoneNow,
} from './checklist-steps';
import './Checklist.css';

/**
 * The classroom checklist: the README's quick start inside the app, ticked off as each step
 * happens. Shown until dismissed; the dismissal is remembered in this browser.
 */
export function Checklist() {
  const [dismissed, setDismissed] = useState(() => checklistDismissed());
  if (dismissed) return null;
  return (
    <ChecklistCard
      onDismiss={() => {
        rememberDismissed();
        setDismissed(true);
      }}
    />
  );
}

function ChecklistCard({ onDismiss }: { readonly onDismiss: () => void }) {
  const snapshot = useSnapshot();
  const route = useRoute();
  const { sent } = useSession();
  const sentList = useSyncExternalStore(
    (listener) => sent.subscribe(listener),
    () => sent.list(),
  );
  const id = useId();
  // A tick stays once seen: a peer leaving or a block moving on does not undo a step.
  const [done, setDone] = useState<ReadonlySet<ChecklistStep['id']>>(() => new Set());
  const now = stepsDoneNow({ snapshot, sent: sentList, route });
  const fresh = [...now].some((step) => !done.has(step));
  useEffect(() => {
    if (fresh) setDone((old) => new Set([...old, ...now]));
  });
  const ticked = new Set([...done, ...now]);
  const count = CHECKLIST_STEPS.filter((step) => ticked.has(step.id)).length;
  return (
    <section className="card checklist" data-testid="classroom-checklist" aria-labelledby={`${id}-heading`}>
      <div className="checklist-head">
        <h2 id={`${id}-heading`}>
          First steps{' '}
          <span className="muted checklist-count">
            ({count} of {CHECKLIST_STEPS.length} done)
          </span>
        </h2>
        <button type="button" data-testid="checklist-dismiss" onClick={onDismiss}>
          {count === CHECKLIST_STEPS.length ? 'Done: hide' : 'Hide this checklist'}
        </button>
      </div>
      <ol className="checklist-steps">
        {CHECKLIST_STEPS.map((step) => {
          const isDone = ticked.has(step.id);
          return (
            <li
              key={step.id}
              className={isDone ? 'checklist-done' : undefined}
              data-testid="checklist-step"
              data-step={step.id}
              data-done={isDone}
            >
              <span className="checklist-mark" aria-hidden="true">
                {isDone ? '✓' : ''}
              </span>
              <span>
                <strong>{step.title}</strong>
                <span className="visually-hidden">{isDone ? ' (done)' : ' (to do)'}</span>
                <span className="checklist-how">{step.how}</span>
              </span>
            </li>
          );
        })}
      </ol>
    </section>
  );
}
