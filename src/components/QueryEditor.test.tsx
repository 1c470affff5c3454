import React from 'react';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { CoreApp } from '@grafana/data';

import { QueryEditor, Props } from './QueryEditor';
import { DataSource } from '../datasource';
import { FlowsQuery } from '../types';

function renderEditor(query: FlowsQuery, app?: CoreApp) {
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  const props: Props = {
    datasource: {} as DataSource,
    query,
    onChange,
    onRunQuery,
    app,
  };
  render(<QueryEditor {...props} />);
  return { onChange, onRunQuery };
}

describe('QueryEditor', () => {
  it('switches to Protocols, keeping filters and unknown fields, and runs the query', async () => {
    const query = { refId: 'A', queryType: 'topTalkers', dim: 'dst', srcIp: '10.0.0.5', future: 1 } as FlowsQuery;
    const { onChange, onRunQuery } = renderEditor(query);

    await userEvent.click(screen.getByRole('radio', { name: 'Protocols' }));

    expect(onChange).toHaveBeenCalledTimes(1);
    expect(onChange.mock.calls[0][0]).toMatchObject({
      refId: 'A',
      queryType: 'protocols',
      srcIp: '10.0.0.5',
      future: 1,
    });
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it('gives a flows query its own defaults when switching type', async () => {
    const { onChange } = renderEditor({ refId: 'A', queryType: 'topTalkers', limit: 20 });

    await userEvent.click(screen.getByRole('radio', { name: 'Flows' }));

    expect(onChange.mock.calls[0][0]).toMatchObject({
      queryType: 'flows',
      format: 'table',
      sort: 'timestamp',
      order: 'desc',
      limit: 100,
    });
  });

  it('shows top talkers fields with their defaults and sets dim and by', async () => {
    const { onChange, onRunQuery } = renderEditor({ refId: 'A', queryType: 'topTalkers' });

    expect(screen.getByRole('radio', { name: 'Source' })).toBeChecked();
    expect(screen.getByRole('radio', { name: 'Bytes' })).toBeChecked();

    await userEvent.click(screen.getByRole('radio', { name: 'Pair' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'topTalkers', dim: 'pair' });

    await userEvent.click(screen.getByRole('radio', { name: 'Packets' }));
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'topTalkers', by: 'packets' });
    expect(onRunQuery).toHaveBeenCalledTimes(2);
  });

  it('stores a numeric limit as a number and a variable as text', async () => {
    const { onChange, onRunQuery } = renderEditor({ refId: 'A', queryType: 'topTalkers' });
    const limit = screen.getByLabelText(/Limit/);

    await userEvent.type(limit, '5');
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'topTalkers', limit: 5 });
    expect(onRunQuery).not.toHaveBeenCalled();

    await userEvent.clear(limit);
    await userEvent.type(limit, '$');
    expect(onChange).toHaveBeenLastCalledWith({ refId: 'A', queryType: 'topTalkers', limit: '$' });

    await userEvent.tab();
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('hides top talkers fields for other query types', () => {
    renderEditor({ refId: 'A', queryType: 'protocols' });

    expect(screen.getByRole('radio', { name: 'Protocols' })).toBeChecked();
    expect(screen.queryByRole('radio', { name: 'Pair' })).not.toBeInTheDocument();
    expect(screen.queryByLabelText(/Limit/)).not.toBeInTheDocument();
  });

  it('does not offer the flows table in alert rules', () => {
    renderEditor({ refId: 'A', queryType: 'topTalkers' }, CoreApp.UnifiedAlerting);

    expect(screen.getByRole('radio', { name: 'Top talkers' })).toBeInTheDocument();
    expect(screen.queryByRole('radio', { name: 'Flows' })).not.toBeInTheDocument();
  });
});
