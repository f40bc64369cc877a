#pragma once

#include "core/capture/captureexport.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QSpinBox;
class QIODevice;
class QTimer;

namespace deltascope::ui {

// Exports a capture (or a range of it) as HAR, an NDJSON delta log, a Markdown bug report or a
// trimmed capture, redacted by default. The preview shows what will be redacted (identity tokens,
// matches per listed JSON path) and the start of the output before anything is written.
class ExportDialog : public QDialog
{
    Q_OBJECT
public:
    using Format = ExportFormat; // the combo box lists them in this order

    ExportDialog(const Capture& capture, qint64 currentEvent, QWidget* parent = nullptr);

    void setFormat(Format format);
    Format format() const;
    void setRange(qint64 from, qint64 to);
    void setRedaction(bool on, const QStringList& paths);
    QStringList redactPaths() const;

    // Runs the export into memory and shows the redaction summary and the start of the output.
    // Returns the summary lines (what was redacted), or the error.
    QStringList refreshPreview();
    QString previewText() const;
    QString summaryText() const;
    // Writes the export. Returns an error text, empty on success.
    QString exportTo(const QString& path);
    // After a successful exportTo(): what was written, as one line for a status bar
    // ("Exported a Markdown bug report, 12,345 bytes, to /path/x.md"); empty before.
    QString writtenSummary() const { return m_writtenSummary; }
    static QString suggestedSuffix(Format format);

private:
    ExportResult run(QIODevice& out) const;
    void chooseFileAndExport();

    const Capture& m_capture;
    QComboBox* m_format = nullptr;
    QSpinBox* m_from = nullptr;
    QSpinBox* m_to = nullptr;
    QCheckBox* m_redact = nullptr;
    QLineEdit* m_paths = nullptr;
    QLabel* m_summary = nullptr;
    QPlainTextEdit* m_preview = nullptr;
    QTimer* m_previewTimer = nullptr;
    QString m_writtenSummary;
};

}
