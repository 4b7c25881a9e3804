// Livy's session and statement states as the API names them: openapi.yaml's StartingState,
// ReadyState, EndedState and StatementEndedState, emitted as values into src/generated/api-types.ts
// by `npm run build:types`. No hand copies: a state the server adds reaches the panel by a rebuild.

import {
  endedStateValues,
  startingStateValues,
  statementEndedStateValues
} from './generated/api-types';

export const STARTING: ReadonlySet<string> = new Set<string>(
  startingStateValues
);
/** An ended session is one nothing will run in again, `lost` included. */
export const FINISHED: ReadonlySet<string> = new Set<string>(endedStateValues);
export const STATEMENT_DONE: ReadonlySet<string> = new Set<string>(
  statementEndedStateValues
);
