import { MemoryLockHub } from '../../src/locks/memory';
import { locksCompliance } from '../ports/locks-compliance';

locksCompliance('memory', async () => {
  const hub = new MemoryLockHub();
  const tabs = [hub.tab(), hub.tab(), hub.tab()] as const;
  return {
    tabs,
    closeTab: async (index) => tabs[index].close(),
    cleanup: async () => {
      for (const tab of tabs) tab.close();
    },
  };
});
