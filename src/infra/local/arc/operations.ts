/** The cluster data-plane operations (ToggleCustomerAPI.<Operation>), answered from the routing-control store. */
import {
  decodeToken,
  encodeToken,
  type Input,
  notFound,
  optionalStringList,
  ownerOf,
  requireState,
  requireString,
  validation,
} from './api-input.js';
import type { RoutingControlStore } from './control-store.js';

const MAX_LIST_RESULTS = 1000;

export type Operation = (input: Input) => unknown;

export function arcOperations(
  store: RoutingControlStore,
  panel: { readonly name: string; readonly arn: string },
): Record<string, Operation> {
  return {
    GetRoutingControlState(input) {
      const control = store.find(requireString(input, 'RoutingControlArn'));
      return {
        RoutingControlArn: control.arn,
        RoutingControlName: control.name,
        RoutingControlState: store.stateOf(control.arn),
      };
    },
    ListRoutingControls(input) {
      const panelFilter = input.ControlPanelArn;
      if (panelFilter !== undefined && panelFilter !== null) {
        if (typeof panelFilter !== 'string') {
          throw validation('ControlPanelArn must be a string', 'fieldValidationFailed', 'ControlPanelArn');
        }
        if (panelFilter !== panel.arn) throw notFound('ControlPanel', panelFilter);
      }
      let max = MAX_LIST_RESULTS;
      if (input.MaxResults !== undefined && input.MaxResults !== null) {
        const value = input.MaxResults;
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_LIST_RESULTS) {
          throw validation(
            `MaxResults must be an integer from 1 to ${MAX_LIST_RESULTS}`,
            'fieldValidationFailed',
            'MaxResults',
          );
        }
        max = value;
      }
      const token = input.NextToken;
      if (token !== undefined && token !== null && typeof token !== 'string') {
        throw validation('NextToken must be a string', 'fieldValidationFailed', 'NextToken');
      }
      const offset = token ? decodeToken(token) : 0;
      const page = store.controls.slice(offset, offset + max);
      const nextOffset = offset + page.length;
      return {
        RoutingControls: page.map((c) => ({
          ControlPanelArn: panel.arn,
          ControlPanelName: panel.name,
          RoutingControlArn: c.arn,
          RoutingControlName: c.name,
          RoutingControlState: store.stateOf(c.arn),
          Owner: ownerOf(c.arn),
        })),
        ...(nextOffset < store.controls.length ? { NextToken: encodeToken(nextOffset) } : {}),
      };
    },
    UpdateRoutingControlState(input) {
      const arn = requireString(input, 'RoutingControlArn');
      const state = requireState(input, 'RoutingControlState');
      store.apply([{ arn, state }], optionalStringList(input, 'SafetyRulesToOverride'));
      return {};
    },
    UpdateRoutingControlStates(input) {
      const entries = input.UpdateRoutingControlStateEntries;
      if (!Array.isArray(entries) || entries.length === 0) {
        throw validation(
          'UpdateRoutingControlStateEntries must be a non-empty list',
          'fieldValidationFailed',
          'UpdateRoutingControlStateEntries',
        );
      }
      const parsed = entries.map((entry: unknown) => {
        if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
          throw validation(
            'each entry must be an object with RoutingControlArn and RoutingControlState',
            'fieldValidationFailed',
            'UpdateRoutingControlStateEntries',
          );
        }
        const fields = entry as Input;
        return { arn: requireString(fields, 'RoutingControlArn'), state: requireState(fields, 'RoutingControlState') };
      });
      store.apply(parsed, optionalStringList(input, 'SafetyRulesToOverride'));
      return {};
    },
  };
}
