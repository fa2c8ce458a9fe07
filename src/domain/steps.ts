import type { ManagedAttributes } from './account';

// The steps a plan consists of. Kept apart from plan.ts so workflows can describe steps
// without bundling the policy parser.

export type Step =
  | { kind: 'createAccount'; ouDn: string; attributes: ManagedAttributes }
  | { kind: 'moveAccount'; fromOuDn: string; toOuDn: string }
  | { kind: 'setAttributes'; attributes: Partial<ManagedAttributes>; clear: (keyof ManagedAttributes)[] }
  | { kind: 'removeFromGroups'; groups: string[] }
  | { kind: 'addToGroups'; groups: string[] }
  | { kind: 'changePrimaryMail'; mailBase: string }
  | { kind: 'enableAccount' }
  | { kind: 'disableAccount' }
  | { kind: 'deleteAccount' };

/** One line per step, for CLI output and workflow summaries. Carries no personal data. */
export function describeStep(step: Step): string {
  switch (step.kind) {
    case 'createAccount':
      return 'create AD account (disabled)';
    case 'moveAccount':
      return 'move account to role OU';
    case 'setAttributes':
      return `update ${[...Object.keys(step.attributes), ...step.clear].join(', ')}`;
    case 'removeFromGroups':
      return `remove from ${step.groups.join(', ')}`;
    case 'addToGroups':
      return `add to ${step.groups.join(', ')}`;
    case 'enableAccount':
      return 'enable account';
    case 'disableAccount':
      return 'disable account';
    case 'changePrimaryMail':
      return 'new primary e-mail address (old one kept as alias)';
    case 'deleteAccount':
      return 'delete AD account (retention over; names reserved)';
  }
}
