import type { DirectoryAccount } from './account';
import type { Step } from './steps';

// The AD account as a plan's directory steps leave it: what the run's later steps (the cloud
// user, the catalogue entry) read from AD, so a plan can hand them the same input.

export type ProjectedAccount = Partial<Omit<DirectoryAccount, 'enabled'>> & { enabled: boolean };

/** null: no account after the steps (none now and none created, or deleted). */
export function accountAfterSteps(account: DirectoryAccount | null, steps: Step[]): ProjectedAccount | null {
  let after: ProjectedAccount | null = account ? structuredClone(account) : null;
  for (const step of steps) {
    switch (step.kind) {
      case 'createAccount':
        after = { ...step.attributes, enabled: false };
        break;
      case 'setAttributes':
        if (after) {
          Object.assign(after, step.attributes);
          for (const key of step.clear) delete after[key];
        }
        break;
      case 'enableAccount':
        if (after) after.enabled = true;
        break;
      case 'disableAccount':
        if (after) after.enabled = false;
        break;
      case 'deleteAccount':
        after = null;
        break;
      default:
        break; // moves and groups change nothing later steps read; a mail change is the caller's to weigh
    }
  }
  return after;
}
