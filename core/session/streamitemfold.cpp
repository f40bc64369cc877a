#include "core/session/streamitemfold.h"

#include "core/document/mutator.h"

namespace deltascope {

namespace {
bool parseFrame(QByteArrayView frame, simdjson::dom::element& root, detail::ParsedShape* shape = nullptr)
{
    return detail::parseJson(std::string_view(frame.data(), std::size_t(frame.size())), root, nullptr, shape)
        && root.type() == simdjson::dom::element_type::OBJECT;
}
}

StreamItemFold::StreamItemFold(QByteArrayView frame)
    : m_frame(frame)
{
    simdjson::dom::element root;
    detail::ParsedShape shape;
    m_parsed = parseFrame(frame, root, &shape);
    m_parseCount = detail::parseJsonCount();
    m_delta = m_parsed ? streamDeltaOf(root.get_object().value_unsafe(), &m_data) : extractStreamDelta(frame);
    m_treeJsMayThrow = detail::referenceMayThrow(shape, kStreamDataDepth);
}

void StreamItemFold::foldInto(DocumentTree& tree, qint64 eventIndex, FoldResult& result, DocumentTree::ChangeDetail detail) const
{
    if (!m_parsed) {
        tree.apply(m_delta.data, eventIndex, result, detail);
        return;
    }
    if (m_parseCount != detail::parseJsonCount()) {
        // Something parsed since: m_data points into overwritten buffers. The same text parses
        // the same way again, unless memory for a frame over 16 MiB ran out this time: then the
        // data goes through text.
        simdjson::dom::element root;
        if (!parseFrame(m_frame, root)) { // the same text: m_treeJsMayThrow holds
            tree.apply(extractStreamDelta(m_frame).data, eventIndex, result, detail);
            return;
        }
        m_parseCount = detail::parseJsonCount();
        streamDeltaOf(root.get_object().value_unsafe(), &m_data);
    }
    detail::foldParsed(tree, m_data, eventIndex, result, detail, m_treeJsMayThrow);
}

}
