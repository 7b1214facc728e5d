// Starts GraphiQL against the endpoint that served this page. It is a file, not an inline
// script, so the page's Content-Security-Policy can refuse every script it did not serve itself.
(function () {
  'use strict';
  // Anonymous on purpose: GraphiQL 3 keeps sending a named operation's name after the editor
  // switches to an anonymous one, which every server must refuse ("Unknown operation named").
  var defaultQuery = [
    '# Tantana Auth GraphQL API. Run with the play button or Ctrl-Enter.',
    '# Signed-in operations need a header: {"Authorization": "Bearer <access token>"}',
    '',
    '{',
    '  checkUser(phoneNumber: "+998901234567") {',
    '    exists',
    '    phoneNumber',
    '  }',
    '}',
    ''
  ].join('\n');
  var fetcher = GraphiQL.createFetcher({ url: window.location.pathname });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultEditorToolsVisibility: 'headers',
      shouldPersistHeaders: false
    })
  );
})();
