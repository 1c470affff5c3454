import React, { useState } from 'react';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { VariableQueryEditor } from './VariableQueryEditor';
import { makeDataSource } from '../testing';
import { FlowsQuery } from '../types';

function renderEditor(initial: FlowsQuery) {
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  function Harness() {
    const [query, setQuery] = useState(initial);
    return (
      <VariableQueryEditor
        datasource={makeDataSource()}
        query={query}
        onRunQuery={onRunQuery}
        onChange={(next) => {
          onChange(next);
          setQuery(next);
        }}
      />
    );
  }
  render(<Harness />);
  const last = (): FlowsQuery => onChange.mock.calls[onChange.mock.calls.length - 1][0];
  return { onChange, onRunQuery, last };
}

describe('VariableQueryEditor', () => {
  it('starts as source IPs, 100 at most', () => {
    renderEditor({ refId: 'V' });

    expect(screen.getByRole('radio', { name: 'Source IPs' })).toBeChecked();
    expect(screen.getByRole('textbox', { name: 'Limit' })).toHaveValue('100');
  });

  it('builds the variable query: which values, how many, filtered by another variable', async () => {
    const { last, onRunQuery } = renderEditor({ refId: 'V' });

    await userEvent.click(screen.getByRole('radio', { name: 'Destination IPs' }));
    await userEvent.clear(screen.getByRole('textbox', { name: 'Limit' }));
    await userEvent.type(screen.getByRole('textbox', { name: 'Limit' }), '50');
    await userEvent.tab();
    await userEvent.type(screen.getByRole('textbox', { name: 'Source IP' }), '$src');
    await userEvent.tab();

    expect(last()).toEqual({
      refId: 'V',
      queryType: 'variableValues',
      variable: 'dstIp',
      limit: 50,
      srcIp: '$src',
      version: 1,
    });
    expect(onRunQuery).toHaveBeenCalledTimes(3);
  });

  it('flags a limit the backend would reject', async () => {
    const { onRunQuery } = renderEditor({ refId: 'V', queryType: 'variableValues', variable: 'port' });

    await userEvent.clear(screen.getByRole('textbox', { name: 'Limit' }));
    await userEvent.type(screen.getByRole('textbox', { name: 'Limit' }), '0');
    await userEvent.tab();

    expect(screen.getByText("limit: '0' must be a whole number from 1 to 1000000")).toBeInTheDocument();
    expect(onRunQuery).not.toHaveBeenCalled();
  });
});
