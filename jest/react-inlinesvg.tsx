// Replaces the scaffold's react-inlinesvg mock (.config/jest/mocks): like it, it fetches no SVG
// files, but it keeps the props @grafana/ui's Icon passes (title, role, onClick, tabIndex), so an
// icon button such as Combobox's "Clear value" can be found and clicked as a user would.
import React from 'react';

const SVG_FILE_NAME_REGEX = /(.+)\/(.+)\.svg$/;

interface Props extends React.SVGProps<SVGSVGElement> {
  src: string;
  cacheRequests?: unknown;
  innerRef?: unknown;
  loader?: unknown;
}

const InlineSVG = ({ src, title, cacheRequests: _c, innerRef: _r, loader: _l, ...rest }: Props) => {
  const testId = src.replace(SVG_FILE_NAME_REGEX, '$2');
  return (
    <svg xmlns="http://www.w3.org/2000/svg" data-testid={testId} viewBox="0 0 24 24" {...rest}>
      {title ? <title>{title}</title> : null}
    </svg>
  );
};

export default InlineSVG;
