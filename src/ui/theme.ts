import { useCallback, useEffect, useState } from 'react';

/** The colour theme: follow the system, or force light or dark. */
export type Theme = 'system' | 'light' | 'dark';

/** The localStorage key of the theme setting (index.html applies it before the first paint). */
export const THEME_SETTING_KEY = 'tabchain.theme';

/** Reads the stored theme; anything unknown is `system`. */
export function storedTheme(storage: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage): Theme {
  try {
    const value = storage?.getItem(THEME_SETTING_KEY);
    return value === 'light' || value === 'dark' ? value : 'system';
  } catch {
    return 'system';
  }
}

/** Applies a theme to the document: `data-theme` on `<html>` (the CSS keys its palette on it). */
export function applyTheme(theme: Theme, root: HTMLElement = document.documentElement): void {
  if (theme === 'system') delete root.dataset.theme;
  else root.dataset.theme = theme;
}

/** The theme and its setter; the choice is applied to the page and kept in localStorage. */
export function useTheme(): [Theme, (theme: Theme) => void] {
  const [theme, setThemeState] = useState<Theme>(() => storedTheme());
  useEffect(() => applyTheme(theme), [theme]);
  const setTheme = useCallback((next: Theme) => {
    setThemeState(next);
    try {
      if (next === 'system') localStorage.removeItem(THEME_SETTING_KEY);
      else localStorage.setItem(THEME_SETTING_KEY, next);
    } catch {
      // Storage denied: the choice lasts for this page only.
    }
  }, []);
  return [theme, setTheme];
}
