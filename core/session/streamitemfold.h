#pragma once

#include "core/document/documenttree.h"
#include "core/protocol/envelope.h"

#include <simdjson.h>

namespace deltascope {

// A stream item's frame, parsed once for folding its data into one or more trees. Folding the
// parsed data saves printing it back to text and parsing that again for each tree, which took a
// third of a capture's fold. It holds the fold parser's output, which the next parse on this
// thread overwrites (a slot of a signal emitted between two folds might parse): a fold after such a
// parse parses the frame again. So the frame's text must outlive the object.
class StreamItemFold
{
public:
    explicit StreamItemFold(QByteArrayView frame);
    StreamItemFold(const StreamItemFold&) = delete;
    StreamItemFold& operator=(const StreamItemFold&) = delete;

    // What extractStreamDelta() says of the frame; `data` is left empty when the frame was parsed here.
    const StreamDelta& delta() const { return m_delta; }
    // Whether the frame was parsed here, so folds take its data as parsed (false: through text).
    bool parsedOnce() const { return m_parsed; }
    // DocumentTree::apply() of the item's data (delta().hasData only), into `result`.
    void foldInto(DocumentTree& tree, qint64 eventIndex, FoldResult& result, DocumentTree::ChangeDetail detail) const;

private:
    // False when the fold's parser refused the frame (not JSON, not an object, data nested within
    // the frame's own three levels of the depth limit, no memory for a huge frame): then the data's
    // text, if there is any, goes through apply(), which folds or refuses it as it would any delta.
    bool m_parsed = false;
    QByteArrayView m_frame;
    mutable simdjson::dom::element m_data;
    mutable quint64 m_parseCount = 0; // detail::parseJsonCount() just after m_data was parsed
    // Whether tree.js may throw part-way through the data (detail::referenceMayThrow()).
    bool m_treeJsMayThrow = true;
    StreamDelta m_delta;
};

}
