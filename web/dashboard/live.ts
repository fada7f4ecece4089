/** The page's connection to the dashboard: the event stream (views pushed as they change) and actions (POST). */
import type {
  ActionName,
  ActionRequests,
  DashboardSections,
  Sample,
  SectionName,
} from '../../src/dashboard/view-model.js';

export type Sections = Partial<DashboardSections>;

export interface LiveHandlers {
  section<K extends SectionName>(name: K, value: DashboardSections[K]): void;
  history(samples: Sample[]): void;
  sample(sample: Sample): void;
  connected(on: boolean): void;
}

const SECTIONS: readonly SectionName[] = ['meta', 'flow', 'health', 'drills', 'reconcile', 'actions', 'markers'];

export function connect(handlers: LiveHandlers): () => void {
  const source = new EventSource('events');
  source.onopen = () => handlers.connected(true);
  source.onerror = () => handlers.connected(false);
  for (const name of SECTIONS) {
    source.addEventListener(name, (event) =>
      handlers.section(name, JSON.parse((event as MessageEvent<string>).data) as never),
    );
  }
  source.addEventListener('history', (event) => handlers.history(JSON.parse((event as MessageEvent<string>).data)));
  source.addEventListener('sample', (event) => handlers.sample(JSON.parse((event as MessageEvent<string>).data)));
  return () => source.close();
}

function token(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="tsr-token"]')?.content ?? '';
}

export interface ActionError {
  readonly message: string;
  readonly fix?: string;
  readonly exitCode?: number;
}

/** Starts an action; resolves with the error the server gave when it refused to start it. */
export async function act<K extends ActionName>(name: K, request: ActionRequests[K]): Promise<ActionError | undefined> {
  try {
    const response = await fetch(`api/actions/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-tsr-token': token() },
      body: JSON.stringify(request),
    });
    if (response.ok) return undefined;
    const body = (await response.json().catch(() => ({}))) as { error?: ActionError };
    return body.error ?? { message: `HTTP ${response.status}` };
  } catch (error) {
    return { message: `the dashboard does not answer: ${(error as Error).message}` };
  }
}
