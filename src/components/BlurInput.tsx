import React, { KeyboardEvent, useState } from 'react';
import { Input } from '@grafana/ui';

type InputProps = React.ComponentProps<typeof Input>;

export interface BlurInputProps extends Omit<InputProps, 'value' | 'onChange' | 'onBlur' | 'onKeyDown'> {
  value: string;
  /** Called with the text when the input loses focus (or Enter is pressed) after a change. */
  onCommit: (text: string) => void;
}

/**
 * An @grafana/ui Input that reports its text when the user is done typing (blur or Enter), not
 * on every keystroke: the query is then changed and run once, and a half-typed address is not
 * flagged as invalid.
 */
export function BlurInput({ value, onCommit, ...rest }: BlurInputProps) {
  const [draft, setDraft] = useState(value);
  const [shown, setShown] = useState(value);

  // a change from outside (the user's own commit, or another field resetting this one)
  // replaces the draft
  if (value !== shown) {
    setShown(value);
    setDraft(value);
  }

  const commit = () => {
    if (draft !== value) {
      onCommit(draft);
    }
  };

  return (
    <Input
      {...rest}
      value={draft}
      onChange={(e) => setDraft(e.currentTarget.value)}
      onBlur={commit}
      onKeyDown={(e: KeyboardEvent<HTMLInputElement>) => {
        if (e.key === 'Enter') {
          commit();
        }
      }}
    />
  );
}
