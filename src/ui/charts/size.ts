import { type RefObject, useLayoutEffect, useRef, useState } from 'react';

/**
 * The width in CSS pixels of the element `ref` points to, followed as it resizes (ResizeObserver).
 * Drawings are laid out in real pixels so that their text stays the page's size on a phone and
 * on a wide screen alike (a scaled viewBox would shrink it to nothing at 375 px). Where the
 * element has no layout (jsdom in the component tests, a hidden tab), `fallback` is used.
 */
export function useElementWidth<T extends HTMLElement>(fallback: number): [RefObject<T | null>, number] {
  const ref = useRef<T | null>(null);
  const [width, setWidth] = useState(fallback);
  useLayoutEffect(() => {
    const element = ref.current;
    if (!element) return;
    const measure = () => {
      const measured = Math.floor(element.getBoundingClientRect().width);
      if (measured > 0) setWidth(measured);
    };
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

/** The colour the UI gives an account: its identicon's hue, as everywhere else. */
export function accountColour(hue: number): string {
  return `hsl(${hue} 62% 48%)`;
}
