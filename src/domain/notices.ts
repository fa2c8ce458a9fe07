import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

// Notices (e-mail to managers, school contacts and ops) as configuration: config/notices.yaml holds
// every template in Finnish, Swedish and English; this module validates that file and renders one
// notice. Pure: no I/O, no clock. A template declares its variables; a placeholder it does not
// declare is an error when the file is loaded, a declared one missing at render time is an error
// naming it. `{secret}` (a credential) is filled only by the activity that issued the credential,
// never from a workflow's variables.

export const noticeLanguages = ['fi', 'sv', 'en'] as const;
export type NoticeLanguage = (typeof noticeLanguages)[number];

/** Failure types of the notice channel (non-retryable: configuration or a caller's bug). */
export const NoticeErrorType = {
  /** The template id is not in config/notices.yaml. */
  TemplateUnknown: 'NoticeTemplateUnknown',
  /** A variable the template declares was not given; the message names it. */
  VariableMissing: 'NoticeVariableMissing',
  /** A credential template through the plain path, or a secret given to a plain template. */
  SecretMisuse: 'NoticeSecretMisuse',
  /** The policy has no `mail:` block (or no address for the recipient): nothing can be sent. */
  NotConfigured: 'NoticeNotConfigured',
} as const;
export type NoticeErrorType = (typeof NoticeErrorType)[keyof typeof NoticeErrorType];

export class NoticeError extends Error {
  constructor(
    readonly type: NoticeErrorType,
    message: string,
    /** The template, variable or policy key at fault. */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'NoticeError';
  }
}

const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9_]*)\}/g;
const varName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be a variable name (letters, digits, _)');

const textSchema = z
  .object({
    subject: z.string().min(1).max(200),
    body: z.string().min(1).max(20_000),
  })
  .strict();

const templateSchema = z
  .object({
    /** Who it is for, documentation only: manager, school, unit, ops. */
    audience: z.enum(['manager', 'school', 'unit', 'ops', 'any']).default('any'),
    vars: z.array(varName).default(() => []),
    fi: textSchema.optional(),
    sv: textSchema.optional(),
    /** Required: the language every other falls back to. */
    en: textSchema,
  })
  .strict();

const noteSchema = z
  .object({ fi: z.string().min(1).optional(), sv: z.string().min(1).optional(), en: z.string().min(1) })
  .strict();

export const noticeCatalogueSchema = z
  .object({
    /** Short paragraphs a notice can carry on top (why it reached a fallback mailbox, …). */
    notes: z.record(varName, noteSchema).default(() => ({})),
    templates: z.record(
      z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be a template id (a-z, 0-9, -)'),
      templateSchema,
    ),
  })
  .strict()
  .superRefine((cat, ctx) => {
    // Every placeholder must be declared: a typo in a template is caught when the file loads.
    for (const [id, t] of Object.entries(cat.templates)) {
      for (const lang of noticeLanguages) {
        const text = t[lang];
        if (!text) continue;
        for (const part of ['subject', 'body'] as const) {
          for (const name of placeholders(text[part])) {
            if (!t.vars.includes(name)) {
              ctx.addIssue({
                code: 'custom',
                path: ['templates', id, lang, part],
                message: `uses {${name}}, which the template does not declare in vars`,
              });
            }
          }
        }
        if (placeholders(text.subject).includes('secret')) {
          ctx.addIssue({
            code: 'custom',
            path: ['templates', id, lang, 'subject'],
            message: 'a subject must never carry {secret}',
          });
        }
      }
    }
  });

export type NoticeCatalogue = z.infer<typeof noticeCatalogueSchema>;
export type NoticeTemplate = NoticeCatalogue['templates'][string];

/** Parses and validates config/notices.yaml; every problem is listed with its path. */
export function parseNoticeCatalogue(yamlText: string): NoticeCatalogue {
  let raw: unknown;
  try {
    raw = parseYaml(yamlText);
  } catch (err) {
    throw new NoticeError(
      NoticeErrorType.NotConfigured,
      `notices: not valid YAML: ${(err as Error).message}`,
    );
  }
  const result = noticeCatalogueSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new NoticeError(NoticeErrorType.NotConfigured, `invalid notices: ${problems.join('; ')}`);
  }
  return result.data;
}

export type NoticeVars = Readonly<Record<string, string | number>>;

export interface RenderRequest {
  template: string;
  language?: NoticeLanguage;
  vars: NoticeVars;
  /** Notes (ids under `notes:`) shown above the body, e.g. why a fallback mailbox got it. */
  notes?: readonly string[];
  /** Only for templates that declare `secret`: the credential, filled in here and nowhere else. */
  secret?: string;
}

export interface RenderedNotice {
  subject: string;
  body: string;
  contentType: 'Text';
  /** The language the text is in (the asked one, or English when the template lacks it). */
  language: NoticeLanguage;
}

/** Whether a template carries a credential (declares `secret`). */
export function isSecretTemplate(catalogue: NoticeCatalogue, template: string): boolean {
  return templateOf(catalogue, template).vars.includes('secret');
}

/** Renders one notice. Throws NoticeError naming the template or variable at fault. */
export function renderNotice(catalogue: NoticeCatalogue, req: RenderRequest): RenderedNotice {
  const t = templateOf(catalogue, req.template);
  const wantsSecret = t.vars.includes('secret');
  if (wantsSecret && (req.secret === undefined || req.secret === '')) {
    throw new NoticeError(
      NoticeErrorType.SecretMisuse,
      `template ${req.template} carries a credential: only the activity that issues it can send it`,
      req.template,
    );
  }
  if (!wantsSecret && req.secret !== undefined) {
    throw new NoticeError(
      NoticeErrorType.SecretMisuse,
      `template ${req.template} takes no secret`,
      req.template,
    );
  }
  if ('secret' in req.vars) {
    throw new NoticeError(
      NoticeErrorType.SecretMisuse,
      'vars.secret: a secret is never a variable',
      'secret',
    );
  }
  const values: Record<string, string> = {};
  for (const name of t.vars) {
    if (name === 'secret') continue;
    const v = req.vars[name];
    if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) {
      throw new NoticeError(
        NoticeErrorType.VariableMissing,
        `template ${req.template}: variable ${name} is missing`,
        name,
      );
    }
    values[name] = clean(String(v));
  }
  if (wantsSecret) values.secret = req.secret!;
  const language = req.language && t[req.language] ? req.language : 'en';
  const text = t[language]!;
  const fill = (s: string) => s.replace(PLACEHOLDER, (_, name: string) => values[name]!);
  const notes = (req.notes ?? []).map((id) => {
    const note = catalogue.notes[id];
    if (!note) throw new NoticeError(NoticeErrorType.TemplateUnknown, `note ${id} is not in the notices`, id);
    // A note may only use variables the request gave (e.g. managerId); others stay visible as is.
    const noteText = note[language] ?? note.en;
    return noteText.replace(PLACEHOLDER, (whole, name: string) =>
      name !== 'secret' && req.vars[name] !== undefined ? clean(String(req.vars[name])) : whole,
    );
  });
  return {
    subject: fill(text.subject)
      .replace(/\s*[\r\n]+\s*/g, ' ')
      .trim(),
    body: [...notes, fill(text.body).trimEnd()].join('\n\n') + '\n',
    contentType: 'Text',
    language,
  };
}

function templateOf(catalogue: NoticeCatalogue, id: string): NoticeTemplate {
  const t = Object.hasOwn(catalogue.templates, id) ? catalogue.templates[id] : undefined;
  if (!t) throw new NoticeError(NoticeErrorType.TemplateUnknown, `template ${id} is not in the notices`, id);
  return t;
}

function placeholders(s: string): string[] {
  return [...s.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/** A value as text in a mail: no control characters (a value never adds lines of its own). */
function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}
