import { GraphFailure } from './state';

// Exchange Online as far as sendMail goes: the sender is a mailbox (a licensed user whose mailbox
// exists, or a shared mailbox), the message is validated as Graph validates it, and what is
// accepted (202) is delivered to every recipient's inbox here, for tests to read through the admin
// endpoint. Nothing leaves the process.

export interface DeliveredMessage {
  from: string;
  to: string[];
  subject: string;
  body: string;
  contentType: 'Text' | 'HTML';
  sentAt: string;
}

const address = /^[^@\s<>()[\]\\,;:"]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$/i;

const invalid = (code: string, message: string) => new GraphFailure(400, code, message);

export class MailStore {
  /** Inboxes by lower-cased address. */
  private readonly inboxes = new Map<string, DeliveredMessage[]>();
  /** Shared mailboxes (lower-cased): senders that are no user of Tunnus's and never listed as users. */
  private readonly shared = new Set<string>();
  /** Sent Items per sender, only for messages sent with saveToSentItems (the default). */
  private readonly sentItems = new Map<string, DeliveredMessage[]>();

  constructor(
    private readonly initialShared: readonly string[],
    private readonly now: () => number = Date.now,
  ) {
    initialShared.forEach((a) => this.shared.add(a.toLowerCase()));
  }

  reset(): void {
    this.clear();
    this.shared.clear();
    this.initialShared.forEach((a) => this.shared.add(a.toLowerCase()));
  }

  /** Empties every inbox and Sent Items (shared mailboxes stay). */
  clear(): void {
    this.inboxes.clear();
    this.sentItems.clear();
  }

  addSharedMailbox(mailbox: string): void {
    if (!address.test(mailbox))
      throw invalid('ErrorInvalidUser', `The requested user '${mailbox}' is invalid.`);
    this.shared.add(mailbox.toLowerCase());
  }

  isSharedMailbox(idOrUpn: string): boolean {
    return this.shared.has(idOrUpn.toLowerCase());
  }

  messagesTo(mailbox: string): DeliveredMessage[] {
    return structuredClone(this.inboxes.get(mailbox.toLowerCase()) ?? []);
  }

  sentBy(mailbox: string): DeliveredMessage[] {
    return structuredClone(this.sentItems.get(mailbox.toLowerCase()) ?? []);
  }

  /** Validates a sendMail body and delivers it; `from` is the sender's address. */
  send(from: string, body: Record<string, unknown>): void {
    const message = body.message as Record<string, unknown> | undefined;
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      throw invalid('ErrorInvalidRequest', "The request is invalid: the property 'message' is required.");
    }
    for (const key of Object.keys(body)) {
      if (key !== 'message' && key !== 'saveToSentItems') {
        throw invalid(
          'RequestBodyRead',
          `The parameter '${key}' in the request payload is not a valid parameter for the operation 'sendMail'.`,
        );
      }
    }
    if (body.saveToSentItems !== undefined && typeof body.saveToSentItems !== 'boolean') {
      throw invalid('RequestBodyRead', "Cannot convert the literal to the expected type 'Edm.Boolean'.");
    }
    const subject = message.subject ?? '';
    if (typeof subject !== 'string')
      throw invalid('RequestBodyRead', "Invalid value for property 'subject'.");
    const content = (message.body ?? { contentType: 'Text', content: '' }) as Record<string, unknown>;
    const type = typeof content.contentType === 'string' ? content.contentType.toLowerCase() : 'text';
    if (type !== 'text' && type !== 'html') {
      throw invalid('RequestBodyRead', `Requested value '${String(content.contentType)}' was not found.`);
    }
    if (typeof content.content !== 'string') {
      throw invalid('RequestBodyRead', "Invalid value for property 'content'.");
    }
    const recipients = [
      ...recipientList(message.toRecipients, 'toRecipients'),
      ...recipientList(message.ccRecipients, 'ccRecipients'),
      ...recipientList(message.bccRecipients, 'bccRecipients'),
    ];
    if (recipients.length === 0) {
      throw invalid(
        'ErrorInvalidRecipients',
        "At least one recipient is not valid., A message can't be sent because it contains no recipients.",
      );
    }
    const delivered: DeliveredMessage = {
      from,
      to: recipientList(message.toRecipients, 'toRecipients'),
      subject,
      body: content.content,
      contentType: type === 'html' ? 'HTML' : 'Text',
      sentAt: new Date(this.now()).toISOString(),
    };
    for (const r of new Set(recipients.map((a) => a.toLowerCase()))) {
      const inbox = this.inboxes.get(r) ?? [];
      inbox.push(structuredClone(delivered));
      this.inboxes.set(r, inbox);
    }
    if (body.saveToSentItems !== false) {
      const sent = this.sentItems.get(from.toLowerCase()) ?? [];
      sent.push(structuredClone(delivered));
      this.sentItems.set(from.toLowerCase(), sent);
    }
  }
}

function recipientList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid('RequestBodyRead', `Invalid value for property '${field}'.`);
  return value.map((r) => {
    const a = (r as { emailAddress?: { address?: unknown } } | null)?.emailAddress?.address;
    if (typeof a !== 'string' || !address.test(a)) {
      throw invalid('ErrorInvalidRecipients', 'At least one recipient is not valid.');
    }
    return a;
  });
}
