import { CustomVariableSupport, DataQueryRequest, DataQueryResponse } from '@grafana/data';
import { Observable } from 'rxjs';

import { VariableQueryEditor } from './components/VariableQueryEditor';
import type { DataSource } from './datasource';
import { FlowsQuery, withDefaults } from './types';

/**
 * Template variable values from the backend: `{ queryType: 'variableValues', variable, limit }`
 * runs like any other query, over the dashboard's time range, and answers a frame with string
 * fields `text` and `value`, which Grafana turns into the variable's options.
 */
export class FlowsVariableSupport extends CustomVariableSupport<DataSource, FlowsQuery> {
  editor = VariableQueryEditor;

  constructor(private readonly datasource: DataSource) {
    super();
  }

  query(request: DataQueryRequest<FlowsQuery>): Observable<DataQueryResponse> {
    const targets = request.targets.map((target) => {
      const saved: Partial<FlowsQuery> = target && typeof target === 'object' ? target : {};
      return withDefaults<FlowsQuery>({ ...saved, refId: saved.refId || 'variable', queryType: 'variableValues' });
    });
    return this.datasource.query({ ...request, targets });
  }
}
