#include "core/faults/websocketframe.h"

#include <QList>
#include <QPair>

#include <utility>

namespace deltascope::faults {

bool isControlOpcode(quint8 opcode) { return (opcode & 0x8) != 0; }

QString opcodeName(quint8 opcode)
{
    switch (opcode) {
    case 0x0:
        return QStringLiteral("continuation");
    case 0x1:
        return QStringLiteral("text");
    case 0x2:
        return QStringLiteral("binary");
    case 0x8:
        return QStringLiteral("close");
    case 0x9:
        return QStringLiteral("ping");
    case 0xA:
        return QStringLiteral("pong");
    default:
        return QStringLiteral("reserved 0x%1").arg(opcode, 0, 16);
    }
}

WsFrameParser::WsFrameParser(quint64 maxPayload)
    : m_maxPayload(maxPayload)
{
}

WsFrameParser::Status WsFrameParser::next(WsFrame& frame)
{
    const auto* bytes = reinterpret_cast<const uchar*>(m_buffer.constData());
    const qsizetype available = m_buffer.size();
    if (available < 2)
        return Status::NeedMore;
    const bool fin = bytes[0] & 0x80;
    const quint8 rsv = (bytes[0] >> 4) & 0x7;
    const quint8 opcode = bytes[0] & 0x0F;
    const bool masked = bytes[1] & 0x80;
    quint64 length = bytes[1] & 0x7F;
    qsizetype header = 2;
    if ((opcode > 0x2 && opcode < 0x8) || opcode > 0xA) {
        m_error = QStringLiteral("reserved opcode 0x%1").arg(opcode, 0, 16);
        return Status::Error;
    }
    if (length == 126) {
        if (available < 4)
            return Status::NeedMore;
        length = (quint64(bytes[2]) << 8) | bytes[3];
        header = 4;
    } else if (length == 127) {
        if (available < 10)
            return Status::NeedMore;
        length = 0;
        for (int i = 0; i < 8; ++i)
            length = (length << 8) | bytes[2 + i];
        header = 10;
        if (length >> 63) {
            m_error = QStringLiteral("64-bit payload length with the most significant bit set");
            return Status::Error;
        }
    }
    if (isControlOpcode(opcode) && (!fin || length > 125)) {
        m_error = fin ? QStringLiteral("%1 control frame of %2 bytes (limit 125)").arg(opcodeName(opcode)).arg(length)
                      : QStringLiteral("fragmented %1 control frame").arg(opcodeName(opcode));
        return Status::Error;
    }
    if (length > m_maxPayload) {
        m_error = QStringLiteral("frame payload of %1 bytes exceeds the proxy's %2-byte parsing limit")
                      .arg(length)
                      .arg(m_maxPayload);
        return Status::Error;
    }
    const qsizetype maskBytes = masked ? 4 : 0;
    const qsizetype total = header + maskBytes + qsizetype(length);
    if (available < total)
        return Status::NeedMore;
    frame.fin = fin;
    frame.rsv = rsv;
    frame.opcode = opcode;
    frame.masked = masked;
    frame.maskKey = 0;
    if (masked) {
        frame.maskKey = (quint32(bytes[header]) << 24) | (quint32(bytes[header + 1]) << 16)
            | (quint32(bytes[header + 2]) << 8) | quint32(bytes[header + 3]);
    }
    frame.raw = m_buffer.left(total);
    frame.payload = m_buffer.mid(header + maskBytes, qsizetype(length));
    if (masked)
        applyMask(frame.payload, frame.maskKey);
    m_buffer.remove(0, total);
    return Status::Frame;
}

QByteArray WsFrameParser::takeBuffered() { return std::exchange(m_buffer, {}); }

void applyMask(QByteArray& bytes, quint32 maskKey, qsizetype offset)
{
    const uchar key[4] = { uchar(maskKey >> 24), uchar(maskKey >> 16), uchar(maskKey >> 8), uchar(maskKey) };
    char* data = bytes.data();
    const qsizetype size = bytes.size();
    for (qsizetype i = 0; i < size; ++i)
        data[i] = char(uchar(data[i]) ^ key[(offset + i) & 3]);
}

QByteArray encodeFrame(quint8 opcode, QByteArrayView payload, bool fin, bool masked, quint32 maskKey, quint8 rsv)
{
    QByteArray out;
    const quint64 length = quint64(payload.size());
    out.reserve(payload.size() + 14);
    out.append(char((fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (opcode & 0x0F)));
    const char maskBit = masked ? char(0x80) : char(0);
    if (length < 126) {
        out.append(char(maskBit | char(length)));
    } else if (length <= 0xFFFF) {
        out.append(char(maskBit | 126));
        out.append(char(length >> 8));
        out.append(char(length & 0xFF));
    } else {
        out.append(char(maskBit | 127));
        for (int i = 7; i >= 0; --i)
            out.append(char((length >> (8 * i)) & 0xFF));
    }
    if (masked) {
        out.append(char(maskKey >> 24));
        out.append(char(maskKey >> 16));
        out.append(char(maskKey >> 8));
        out.append(char(maskKey));
        QByteArray body = payload.toByteArray();
        applyMask(body, maskKey);
        out.append(body);
    } else {
        out.append(payload);
    }
    return out;
}

WsMessageAssembler::Result WsMessageAssembler::add(const WsFrame& frame)
{
    if (isControlOpcode(frame.opcode))
        return Result::Control;
    if (frame.opcode == quint8(WsOpcode::Continuation)) {
        if (!m_open) {
            m_error = QStringLiteral("continuation frame with no message open");
            return Result::Error;
        }
    } else {
        if (m_open) {
            m_error
                = QStringLiteral("new %1 frame while a fragmented message is still open").arg(opcodeName(frame.opcode));
            return Result::Error;
        }
        m_open = true;
        m_opcode = frame.opcode;
        m_frames = 0;
        m_payload.clear();
        m_raw.clear();
    }
    ++m_frames;
    m_payload.append(frame.payload);
    m_raw.append(frame.raw);
    if (!frame.fin)
        return Result::Partial;
    m_open = false;
    return Result::Message;
}

QByteArray HttpHead::value(QByteArrayView name) const
{
    for (const auto& header : headers) {
        if (header.first.compare(name, Qt::CaseInsensitive) == 0)
            return header.second;
    }
    return {};
}

bool HttpHead::remove(QByteArrayView name)
{
    return headers.removeIf([&](const QPair<QByteArray, QByteArray>& header) {
        return header.first.compare(name, Qt::CaseInsensitive) == 0;
    }) > 0;
}

void HttpHead::set(QByteArrayView name, QByteArrayView value)
{
    for (auto& header : headers) {
        if (header.first.compare(name, Qt::CaseInsensitive) == 0) {
            header.second = value.toByteArray();
            return;
        }
    }
    headers.append({ name.toByteArray(), value.toByteArray() });
}

QByteArray HttpHead::serialize() const
{
    QByteArray out = startLine + "\r\n";
    for (const auto& header : headers)
        out += header.first + ": " + header.second + "\r\n";
    out += "\r\n";
    return out;
}

qsizetype httpHeadEnd(QByteArrayView bytes)
{
    const qsizetype at = bytes.indexOf(QByteArrayView("\r\n\r\n"));
    return at < 0 ? -1 : at + 4;
}

bool parseHttpHead(QByteArrayView bytes, HttpHead& head)
{
    const QList<QByteArray> lines = bytes.toByteArray().split('\n');
    if (lines.isEmpty())
        return false;
    head.startLine = lines.first().trimmed();
    if (!head.startLine.contains("HTTP/1."))
        return false;
    head.headers.clear();
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines[i].trimmed();
        if (line.isEmpty())
            continue;
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0)
            return false;
        head.headers.append({ line.left(colon).trimmed(), line.mid(colon + 1).trimmed() });
    }
    return true;
}

}
