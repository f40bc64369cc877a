target_sources(deltascope_core PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/sessionevent.h
    ${CMAKE_CURRENT_LIST_DIR}/sessionevent.cpp
    ${CMAKE_CURRENT_LIST_DIR}/payloadstore.h
    ${CMAKE_CURRENT_LIST_DIR}/payloadstore.cpp
    ${CMAKE_CURRENT_LIST_DIR}/eventlog.h
    ${CMAKE_CURRENT_LIST_DIR}/eventlog.cpp
    ${CMAKE_CURRENT_LIST_DIR}/sessionfolder.h
    ${CMAKE_CURRENT_LIST_DIR}/sessionfolder.cpp
    ${CMAKE_CURRENT_LIST_DIR}/streamitemfold.h
    ${CMAKE_CURRENT_LIST_DIR}/streamitemfold.cpp
    ${CMAKE_CURRENT_LIST_DIR}/livesession.h
    ${CMAKE_CURRENT_LIST_DIR}/livesession.cpp
    ${CMAKE_CURRENT_LIST_DIR}/watchcommand.h
    ${CMAKE_CURRENT_LIST_DIR}/watchcommand.cpp
)
# Resync analysis (faults helper).
target_sources(deltascope_core PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/incidentanalyzer.h
    ${CMAKE_CURRENT_LIST_DIR}/incidentanalyzer.cpp
    ${CMAKE_CURRENT_LIST_DIR}/incidentsummary.h
    ${CMAKE_CURRENT_LIST_DIR}/incidentsummary.cpp
)
